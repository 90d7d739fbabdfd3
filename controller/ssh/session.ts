// One authenticated connection to one host: the controller's only view of that host. Commands
// run in exec channels (no pty, so output is byte-exact and nothing is echoed); everything here
// is transport: bytes in, bytes out, exit codes.
import { Writable, type Duplex, type Readable } from 'node:stream';
import type { Client, ClientChannel } from 'ssh2';
import { err, ok, type BerthError, type Result } from '../errors.js';
import { oneLine, sshError } from './errors.js';
import { TailBuffer } from '../tail-buffer.js';
import { Slots } from './slots.js';
import { describeTarget, labelTarget, type SshTarget } from './target.js';

export interface ExecResult {
  /** null when the command died of a signal (see signal) or the server sent no status. */
  code: number | null;
  /** e.g. `SIGKILL`. */
  signal?: string;
  /** The last MAX_EXEC_OUTPUT bytes of each stream (../tail-buffer.ts): a host cannot make the controller hold more. */
  stdout: Buffer;
  stderr: Buffer;
}

export interface ExecOptions {
  stdin?: Buffer | NodeJS.ReadableStream;
  /**
   * Past this the command is sent SIGKILL, its channel closed, and exec returns ssh.exec-timeout.
   * OpenSSH delivers signals only to privilege-separated sessions, i.e. not to root logins
   * ("session signalling requires privilege separation"); there a command that ignores its
   * closed stdin and stdout keeps running on the host.
   */
  timeoutMs?: number;
}

/** A long-lived command: raw bytes both ways. */
export interface SshChannel {
  /**
   * The command's stdout and stderr. Read (or resume) both: the SSH window is shared, so an
   * unread stream eventually stalls the other, and the channel only closes once both are drained.
   */
  readonly stdout: Readable;
  readonly stderr: Readable;
  /** The command's stdin. Bytes written here count towards the session's bytesSent. */
  readonly stdin: Writable;
  /** Same as stdin.write: false means wait for 'drain' on stdin. */
  write(data: Buffer | string): boolean;
  /** Sends EOF on stdin once everything written has been sent. */
  end(): void;
  /**
   * Called once with the exit status: (code) or (null, 'SIGTERM'). (null) without a signal means
   * the channel ended with no status: the connection dropped or the channel was closed.
   */
  onExit(cb: (code: number | null, signal?: string) => void): void;
  /** Closes the channel now, whatever the command is doing. */
  close(): void;
}

export interface SshSession {
  readonly target: SshTarget;
  exec(command: string, opts?: ExecOptions): Promise<Result<ExecResult, BerthError>>;
  /** Long-lived channel: raw duplex. stdout/stderr readable, stdin writable, 'exit' gives code. */
  spawn(command: string): Promise<Result<SshChannel, BerthError>>;
  /** A TCP connection opened by the host to host:port (what jump hosts are for). */
  forwardOut(host: string, port: number): Promise<Result<Duplex, BerthError>>;
  /** Bytes written to the remote over all channels so far (stdin of exec and spawn), for "uploaded N bytes" reporting. */
  readonly bytesSent: number;
  /** True once the connection has ended, for whatever reason. */
  readonly closed: boolean;
  close(): void;
  /** Called once when the connection ends: reason is undefined after close(), else what broke it. */
  onClose(cb: (reason?: BerthError) => void): void;
}

export interface SessionParts {
  client: Client;
  target: SshTarget;
  /** Channels open at once; sshd's MaxSessions defaults to 10. */
  maxChannels?: number;
  /** Closed with this session (a jump connection this session alone uses). */
  owns?: { close(): void };
}

export class Session implements SshSession {
  readonly target: SshTarget;
  private readonly client: Client;
  private readonly slots: Slots;
  private readonly owns: { close(): void } | undefined;
  private sent = 0;
  private ended = false;
  private closing = false;
  private lastError: Error | undefined;
  private reason: BerthError | undefined;
  private readonly closeCallbacks: ((reason?: BerthError) => void)[] = [];

  constructor(parts: SessionParts) {
    this.client = parts.client;
    this.target = parts.target;
    this.slots = new Slots(parts.maxChannels ?? 10);
    this.owns = parts.owns;
    this.client.on('error', (e: Error & { level?: string }) => {
      if (e.level !== 'agent') this.lastError = e;
    });
    this.client.on('close', () => this.onEnded());
  }

  get bytesSent(): number {
    return this.sent;
  }

  get closed(): boolean {
    return this.ended;
  }

  private where(): string {
    return this.target.name;
  }

  private disconnectedError(): BerthError {
    return this.reason ?? sshError('ssh.disconnected', `connection to ${describeTarget(this.target)} is closed`, this.where());
  }

  private onEnded(): void {
    if (this.ended) return;
    this.ended = true;
    if (!this.closing) {
      const why = this.lastError ? oneLine(this.lastError) : 'the server closed the connection';
      this.reason = sshError('ssh.disconnected', `lost the connection to ${describeTarget(this.target)}: ${why}`, this.where(),
        /keepalive/i.test(why) ? 'the host stopped answering; check that it is up and the network path to it' : undefined);
    }
    this.owns?.close();
    for (const cb of this.closeCallbacks.splice(0)) cb(this.reason);
  }

  close(): void {
    if (this.ended || this.closing) return;
    this.closing = true;
    this.client.end();
    // end() is polite; a peer that never answers must not keep this process alive.
    setTimeout(() => {
      if (!this.ended) this.client.destroy();
    }, 2000).unref();
  }

  onClose(cb: (reason?: BerthError) => void): void {
    if (this.ended) queueMicrotask(() => cb(this.reason));
    else this.closeCallbacks.push(cb);
  }

  private openChannel(command: string): Promise<Result<ClientChannel, BerthError>> {
    return new Promise((resolve) => {
      if (this.ended || this.closing) return resolve(err(this.disconnectedError()));
      try {
        this.client.exec(command, (e, ch) => {
          if (e) {
            if (this.ended) return resolve(err(this.disconnectedError()));
            return resolve(err(sshError('ssh.channel-failed', `${describeTarget(this.target)} refused to open a channel: ${oneLine(e)}`, this.where(),
              'the host limits sessions per connection (MaxSessions in sshd_config)')));
          }
          // An 'error' nobody listens to would take the whole controller down.
          ch.on('error', () => {});
          ch.stderr.on('error', () => {});
          resolve(ok(ch));
        });
      } catch (e) {
        // ssh2 throws `Not connected` when the socket went away before its 'close' reached us.
        if (/not connected/i.test(oneLine(e))) return resolve(err(this.disconnectedError()));
        resolve(err(sshError('ssh.channel-failed', `cannot open a channel to ${describeTarget(this.target)}: ${oneLine(e)}`, this.where())));
      }
    });
  }

  async exec(command: string, opts: ExecOptions = {}): Promise<Result<ExecResult, BerthError>> {
    const release = await this.slots.acquire();
    try {
      const opened = await this.openChannel(command);
      if (!opened.ok) return opened;
      return await this.runExec(opened.value, opts);
    } finally {
      release();
    }
  }

  private runExec(ch: ClientChannel, opts: ExecOptions): Promise<Result<ExecResult, BerthError>> {
    return new Promise((settle) => {
      let settled = false;
      const resolve = (r: Result<ExecResult, BerthError>) => {
        if (settled) return;
        settled = true;
        settle(r);
      };
      const stdout = new TailBuffer();
      const stderr = new TailBuffer();
      let code: number | null = null;
      let signal: string | undefined;
      let sawExit = false;
      let failure: BerthError | undefined;
      let timer: NodeJS.Timeout | undefined;

      // Reading both streams is what lets the channel close (machine-facts §7).
      ch.on('data', (d: Buffer) => stdout.push(d));
      ch.stderr.on('data', (d: Buffer) => stderr.push(d));
      ch.on('exit', (c: number | null, s?: string) => {
        sawExit = true;
        code = typeof c === 'number' ? c : null;
        if (s) signal = s;
      });
      ch.on('close', () => {
        if (timer) clearTimeout(timer);
        if (failure) return resolve(err(failure));
        if (!sawExit && this.ended) return resolve(err(this.disconnectedError()));
        const r: ExecResult = { code, stdout: stdout.value, stderr: stderr.value };
        if (signal) r.signal = signal;
        resolve(ok(r));
      });

      if (opts.timeoutMs !== undefined && opts.timeoutMs > 0) {
        const ms = opts.timeoutMs;
        timer = setTimeout(() => {
          failure = sshError('ssh.exec-timeout', `command did not finish within ${formatMs(ms)} on ${describeTarget(this.target)}; berth sent it SIGKILL and closed its channel`, this.where());
          killChannel(ch);
          // A host that stopped answering never confirms the close; the caller still gets its answer.
          setTimeout(() => resolve(err(failure!)), 2000).unref();
        }, ms);
      }

      const input = opts.stdin;
      if (input === undefined) ch.end();
      else if (Buffer.isBuffer(input)) {
        this.sent += input.length;
        ch.end(input);
      } else {
        this.pipeIn(input, ch, (e) => {
          failure = sshError('ssh.channel-failed', `reading the input for a command on ${describeTarget(this.target)} failed: ${oneLine(e)}`, this.where());
          killChannel(ch);
        });
      }
    });
  }

  /** Like pipe(), counting bytes, and without ending the process on a source error. */
  private pipeIn(src: NodeJS.ReadableStream, ch: ClientChannel, onError: (e: unknown) => void): void {
    let done = false;
    src.on('data', (d: Buffer | string) => {
      if (done) return;
      const buf = typeof d === 'string' ? Buffer.from(d) : d;
      this.sent += buf.length;
      if (!ch.write(buf)) {
        src.pause();
        ch.once('drain', () => src.resume());
      }
    });
    src.on('end', () => {
      if (!done) ch.end();
    });
    src.on('error', (e) => {
      if (done) return;
      done = true;
      onError(e);
    });
    ch.on('close', () => {
      done = true;
      src.pause();
    });
  }

  async spawn(command: string): Promise<Result<SshChannel, BerthError>> {
    const release = await this.slots.acquire();
    const opened = await this.openChannel(command);
    if (!opened.ok) {
      release();
      return opened;
    }
    const ch = opened.value;
    ch.on('close', release);
    return ok(this.wrapChannel(ch));
  }

  private wrapChannel(ch: ClientChannel): SshChannel {
    let exited: [number | null, string | undefined] | undefined;
    const exitCallbacks: ((code: number | null, signal?: string) => void)[] = [];
    const fireExit = (code: number | null, signal?: string) => {
      if (exited) return;
      exited = [code, signal];
      for (const cb of exitCallbacks.splice(0)) cb(code, signal);
    };
    let channelClosed = false;
    ch.on('exit', (c: number | null, s?: string) => fireExit(typeof c === 'number' ? c : null, s));

    let pendingWrite: (() => void) | undefined;
    const stdin = new Writable({
      highWaterMark: 64 * 1024,
      write: (chunk: Buffer, _enc, cb) => {
        if (channelClosed) return cb();
        this.sent += chunk.length;
        if (ch.write(chunk)) return cb();
        pendingWrite = () => {
          pendingWrite = undefined;
          cb();
        };
        ch.once('drain', () => pendingWrite?.());
      },
      final: (cb) => {
        if (!channelClosed) ch.end();
        cb();
      },
    });
    stdin.on('error', () => {});
    ch.on('close', () => {
      channelClosed = true;
      // A write waiting for room that will never come must not hang its writer.
      pendingWrite?.();
      fireExit(null);
    });

    return {
      stdout: ch,
      stderr: ch.stderr,
      stdin,
      write: (data) => stdin.write(data),
      end: () => {
        stdin.end();
      },
      onExit: (cb) => {
        if (exited) {
          const [c, s] = exited;
          queueMicrotask(() => cb(c, s));
        } else exitCallbacks.push(cb);
      },
      close: () => {
        if (!channelClosed) ch.close();
      },
    };
  }

  forwardOut(host: string, port: number): Promise<Result<Duplex, BerthError>> {
    return new Promise((resolve) => {
      if (this.ended || this.closing) return resolve(err(this.disconnectedError()));
      this.client.forwardOut('127.0.0.1', 0, host, port, (e, stream) => {
        if (e) {
          const why = oneLine(e).replace(/^\(SSH\)\s*/, '').replace(/^Channel open failure:?\s*/i, '') || 'it refused the forward';
          return resolve(err(sshError('ssh.jump-failed',
            `jump host ${labelTarget(this.target)} could not open a connection to ${host}:${port}: ${why}`,
            this.where(), `check that ${host}:${port} is reachable from ${this.target.host}, and that its sshd allows TCP forwarding (AllowTcpForwarding)`)));
        }
        stream.on('error', () => {});
        resolve(ok(stream));
      });
    });
  }
}

/**
 * ssh2's Channel.signal() only sends while our side of the channel is 'open', but a command
 * whose stdin we already ended ('eof') still needs killing on timeout; the protocol call
 * underneath has no such condition. Closing the channel alone leaves the command running.
 */
function killChannel(ch: ClientChannel): void {
  try {
    const c = ch as unknown as { outgoing?: { id?: number; state?: string }; _client?: { _protocol?: { signal(id: number, name: string): void } } };
    if ((c.outgoing?.state === 'open' || c.outgoing?.state === 'eof') && typeof c.outgoing.id === 'number') c._client?._protocol?.signal(c.outgoing.id, 'KILL');
  } catch {
    // the close below still ends the channel
  }
  ch.close();
}

const formatMs = (ms: number) => (ms % 1000 === 0 ? `${ms / 1000} s` : `${ms} ms`);
