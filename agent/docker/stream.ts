// The Engine API answers builds, pulls, pushes and loads with a stream of JSON objects, one per
// line, and reports failure INSIDE that stream ({"error": ...}) with HTTP status 200. This reads
// such a stream to its end, hands each object over as it comes, and returns the first error.

export interface EngineEvent {
  stream?: string;
  status?: string;
  id?: string;
  progress?: string;
  progressDetail?: { current?: number; total?: number };
  error?: string;
  errorDetail?: { message?: string };
  aux?: { ID?: string; Digest?: string; Tag?: string; Size?: number };
}

export function followStream(stream: NodeJS.ReadableStream, onEvent: (e: EngineEvent) => void): Promise<{ ok: true } | { ok: false; message: string }> {
  return new Promise((resolve) => {
    let partial = '';
    let error: string | undefined;
    const take = (line: string) => {
      if (line.trim() === '') return;
      let e: EngineEvent;
      try {
        e = JSON.parse(line) as EngineEvent;
      } catch {
        e = { stream: line };
      }
      if (e.error && error === undefined) error = e.errorDetail?.message ?? e.error;
      onEvent(e);
    };
    stream.on('data', (chunk: Buffer | string) => {
      const lines = (partial + chunk.toString()).split('\n');
      partial = lines.pop() ?? '';
      for (const l of lines) take(l);
    });
    stream.on('error', (e: Error) => resolve({ ok: false, message: e.message }));
    stream.on('end', () => {
      take(partial);
      resolve(error === undefined ? { ok: true } : { ok: false, message: error });
    });
  });
}

/** Splits the `stream` text of build and load events into the lines a person reads. */
export const streamLines = (text: string | undefined): string[] =>
  (text ?? '')
    .split('\n')
    .map((l) => l.replace(/\s+$/, ''))
    .filter((l) => l.length > 0);
