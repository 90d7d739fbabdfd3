// What the agent layer needs from a connection to a host. The SSH session satisfies it; so does
// the local transport (a host that is this machine). Nothing here knows about agents or Docker.
import type { Readable } from 'node:stream';
import type { BerthError, Result } from './errors.js';

export interface ExecResult {
  code: number | null;
  signal?: string;
  /** The last MAX_EXEC_OUTPUT bytes of each stream (tail-buffer.ts): a host cannot make the controller hold more. */
  stdout: Buffer;
  stderr: Buffer;
}

export interface RemoteChannel {
  stdout: Readable;
  stderr: Readable;
  write(data: string | Buffer): boolean;
  end(): void;
  onExit(cb: (code: number | null, signal?: string) => void): void;
  close(): void;
}

export interface HostTransport {
  exec(command: string, opts?: { stdin?: Buffer | NodeJS.ReadableStream; timeoutMs?: number }): Promise<Result<ExecResult, BerthError>>;
  spawn(command: string): Promise<Result<RemoteChannel, BerthError>>;
  /** Bytes written to the host over all channels so far. */
  readonly bytesSent: number;
  close(): void;
}
