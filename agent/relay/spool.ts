// Content a host is receiving (or has received) during this run, kept in a file so that other
// hosts can read it through this host's relay while it still arrives: a reader catches up from
// the file and then follows the writer. Readers never hold the writer back: a slow peer only
// reads further behind, from disk, and the host's own transfer goes at its own pace.
import { closeSync, constants, openSync, read, writeSync } from 'node:fs';
import { promisify } from 'node:util';

const readAt = promisify(read);
const PIECE = 1 << 20;

export class Spool {
  written = 0;
  private state: 'open' | 'done' | 'failed' = 'open';
  private waiters: Array<() => void> = [];
  private readers = 0;
  private closeWhenIdle = false;
  /** One descriptor for writes and positional reads: the file may be renamed or unlinked meanwhile. */
  private readonly fd: number;

  constructor(path: string) {
    // Never through a symlink planted at the name (the agent writes here as root).
    this.fd = openSync(path, constants.O_RDWR | constants.O_CREAT | constants.O_TRUNC | constants.O_NOFOLLOW, 0o600);
  }

  /** Still being written: its writer closes it when done. */
  get receiving(): boolean {
    return this.state === 'open';
  }

  /** False when the bytes could not be kept (a full disk): the spool fails, the host's own transfer goes on. */
  append(bytes: Buffer): boolean {
    if (this.state !== 'open') return false;
    try {
      writeSync(this.fd, bytes, 0, bytes.length, this.written);
    } catch {
      this.fail();
      return false;
    }
    this.written += bytes.length;
    this.wake();
    return true;
  }

  finish(): void {
    if (this.state !== 'open') return;
    this.state = 'done';
    this.wake();
  }

  fail(): void {
    if (this.state !== 'open') return;
    this.state = 'failed';
    this.wake();
  }

  /** The content from byte `from` on, as it is written; throws when the spool fails before its end. */
  async *read(from: number): AsyncGenerator<Buffer> {
    this.readers += 1;
    try {
      let at = from;
      for (;;) {
        if (at < this.written) {
          const buf = Buffer.allocUnsafe(Math.min(PIECE, this.written - at));
          const { bytesRead } = await readAt(this.fd, buf, 0, buf.length, at);
          if (bytesRead === 0) throw new Error('the relayed content went away');
          at += bytesRead;
          yield buf.subarray(0, bytesRead);
          continue;
        }
        if (this.state === 'done') return;
        if (this.state === 'failed') throw new Error('the relaying host failed to receive this content');
        await new Promise<void>((r) => this.waiters.push(r));
      }
    } finally {
      this.readers -= 1;
      if (this.closeWhenIdle && this.readers === 0) this.closeFd();
    }
  }

  /** Closes the file once no reader uses it (the agent is leaving). */
  close(): void {
    this.fail();
    if (this.readers === 0) this.closeFd();
    else this.closeWhenIdle = true;
  }

  private closeFd(): void {
    try {
      closeSync(this.fd);
    } catch {
      // closed already
    }
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }
}
