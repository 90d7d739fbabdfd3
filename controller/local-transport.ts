// A transport to this machine itself (`connection: local`): the same bootstrap and protocol as
// over SSH, through `sh -c`. Useful for operators converging the controller host, and for
// exercising the agent protocol without a network.
import { spawn } from 'node:child_process';
import { Readable } from 'node:stream';
import { ok, type BerthError, type Result } from './errors.js';
import { TailBuffer } from './tail-buffer.js';
import type { ExecResult, HostTransport, RemoteChannel } from './transport.js';

export function localTransport(): HostTransport {
  let sent = 0;
  const children = new Set<ReturnType<typeof spawn>>();
  const start = (command: string) => {
    const child = spawn('sh', ['-c', command], { stdio: ['pipe', 'pipe', 'pipe'] });
    children.add(child);
    child.on('close', () => children.delete(child));
    return child;
  };
  return {
    get bytesSent() {
      return sent;
    },
    exec(command, opts) {
      return new Promise<Result<ExecResult, BerthError>>((resolve) => {
        const child = start(command);
        const out = new TailBuffer();
        const err = new TailBuffer();
        child.stdout.on('data', (d: Buffer) => out.push(d));
        child.stderr.on('data', (d: Buffer) => err.push(d));
        child.stdin.on('error', () => {});
        const input = opts?.stdin;
        if (input instanceof Buffer) {
          sent += input.length;
          child.stdin.end(input);
        } else if (input) {
          const r = input as Readable;
          r.on('data', (d: Buffer) => (sent += d.length));
          r.pipe(child.stdin);
        } else child.stdin.end();
        child.on('close', (code, signal) => resolve(ok({ code, signal: signal ?? undefined, stdout: out.value, stderr: err.value })));
      });
    },
    async spawn(command) {
      const child = start(command);
      const channel: RemoteChannel = {
        stdout: child.stdout,
        stderr: child.stderr,
        write: (d) => {
          sent += d.length;
          return child.stdin.write(d);
        },
        end: () => child.stdin.end(),
        onExit: (cb) => child.on('close', (code, signal) => cb(code, signal ?? undefined)),
        close: () => child.kill('SIGTERM'),
      };
      child.stdin.on('error', () => {});
      return ok(channel);
    },
    close() {
      for (const c of children) c.kill('SIGTERM');
    },
  };
}
