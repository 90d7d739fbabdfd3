// A container's output as lines: Docker multiplexes stdout and stderr into one stream unless the
// container has a TTY; dockerode's demuxer splits it, and this turns chunks into whole lines.
import { PassThrough } from 'node:stream';
import type Docker from 'dockerode';

export type LineSink = (stream: 'stdout' | 'stderr', line: string) => void;

export function lineSplitter(stream: 'stdout' | 'stderr', sink: LineSink): { push(chunk: Buffer | string): void; end(): void } {
  let buf = '';
  return {
    push(chunk) {
      buf += chunk.toString();
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        sink(stream, buf.slice(0, nl).replace(/\r$/, ''));
        buf = buf.slice(nl + 1);
      }
    },
    end() {
      if (buf) sink(stream, buf);
      buf = '';
    },
  };
}

/** Feeds a (possibly multiplexed) Docker output stream to `sink`, line by line, until it ends. */
export function readLines(docker: Docker, raw: NodeJS.ReadableStream, tty: boolean, sink: LineSink): Promise<void> {
  const out = lineSplitter('stdout', sink);
  const err = lineSplitter('stderr', sink);
  return new Promise((resolve) => {
    const done = () => {
      out.end();
      err.end();
      resolve();
    };
    if (tty) {
      raw.on('data', (d: Buffer) => out.push(d));
    } else {
      const o = new PassThrough();
      const e = new PassThrough();
      o.on('data', (d: Buffer) => out.push(d));
      e.on('data', (d: Buffer) => err.push(d));
      docker.modem.demuxStream(raw, o, e);
    }
    raw.on('end', done);
    raw.on('close', done);
    raw.on('error', done);
  });
}

/** The last lines a container wrote, for a failure message. */
export async function lastLines(docker: Docker, id: string, n = 20): Promise<string[]> {
  try {
    const c = docker.getContainer(id);
    const info = await c.inspect();
    const buf = (await c.logs({ stdout: true, stderr: true, tail: n, follow: false })) as unknown as Buffer;
    return demuxBuffer(buf, info.Config.Tty);
  } catch {
    return [];
  }
}

/** Splits a non-streamed, multiplexed log buffer (8-byte frame headers) into lines. */
export function demuxBuffer(buf: Buffer, tty: boolean): string[] {
  if (tty) return buf.toString().split('\n').filter(Boolean);
  let text = '';
  for (let at = 0; at + 8 <= buf.length; ) {
    const size = buf.readUInt32BE(at + 4);
    text += buf.subarray(at + 8, at + 8 + size).toString();
    at += 8 + size;
  }
  return text.split('\n').filter(Boolean);
}
