// The last lines a container wrote, for the report of a failed gate: "why is it unhealthy" is
// usually answered there.
import type Docker from 'dockerode';

export async function lastLogLines(docker: Docker, container: string, lines = 20): Promise<string[]> {
  try {
    const c = docker.getContainer(container);
    const info = await c.inspect();
    const raw = (await c.logs({ stdout: true, stderr: true, tail: lines, follow: false })) as unknown as Buffer;
    const text = info.Config.Tty ? raw.toString('utf8') : demux(raw);
    return text.split('\n').map((l) => l.replace(/\r$/, '')).filter((l, i, all) => l !== '' || i < all.length - 1).slice(-lines);
  } catch (e) {
    return [`(no logs: ${(e as Error).message})`];
  }
}

/** Docker's multiplexed log format: 8-byte frame headers (stream, 0, 0, 0, size32) then data. */
function demux(buf: Buffer): string {
  let out = '';
  let at = 0;
  while (at + 8 <= buf.length) {
    const size = buf.readUInt32BE(at + 4);
    out += buf.subarray(at + 8, at + 8 + size).toString('utf8');
    at += 8 + size;
  }
  return out;
}
