// Docker's event stream, reduced to "something happened to container X": the watcher probes that
// container at once instead of at its next interval, which is what makes a killed container
// leave the registry in a fraction of a second. Reconnects when dockerd restarts.
import type Docker from 'dockerode';

const EVENTS = ['start', 'die', 'stop', 'kill', 'oom', 'pause', 'unpause', 'restart', 'destroy', 'health_status'];

export function onContainerEvents(docker: Docker, cb: (containerId: string, action: string) => void, log: (l: string) => void): () => void {
  let stopped = false;
  let stream: NodeJS.ReadableStream | undefined;
  const connect = async () => {
    if (stopped) return;
    try {
      const s = (await docker.getEvents({ filters: { type: ['container'], event: EVENTS } })) as NodeJS.ReadableStream;
      stream = s;
      let buf = '';
      s.on('data', (chunk: Buffer) => {
        buf += chunk.toString('utf8');
        let nl: number;
        while ((nl = buf.indexOf('\n')) >= 0) {
          const line = buf.slice(0, nl).trim();
          buf = buf.slice(nl + 1);
          if (!line) continue;
          try {
            const e = JSON.parse(line) as { id?: string; Action?: string; status?: string; Actor?: { ID?: string } };
            const id = e.Actor?.ID ?? e.id;
            if (id) cb(id, (e.Action ?? e.status ?? '').split(':')[0]);
          } catch {
            // A line that is not an event: ignore it.
          }
        }
      });
      const again = () => {
        if (stopped) return;
        stream = undefined;
        setTimeout(() => void connect(), 1000).unref();
      };
      s.on('end', again);
      s.on('error', again);
    } catch (e) {
      if (!stopped) {
        log(`docker events: ${(e as Error).message}; retrying`);
        setTimeout(() => void connect(), 2000).unref();
      }
    }
  };
  void connect();
  return () => {
    stopped = true;
    (stream as { destroy?: () => void } | undefined)?.destroy?.();
  };
}
