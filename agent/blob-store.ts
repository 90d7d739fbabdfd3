// Content the controller sent, kept on the host by sha256 under berth's directory, so that the
// same file is never sent twice. Fetches go over the protocol channel and are verified.
import { createHash } from 'node:crypto';
import { closeSync, createReadStream, existsSync, mkdirSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import type { AgentFrame, ControllerFrame, WireError } from '../protocol/agent-protocol.js';

type BlobFrame = Extract<ControllerFrame, { t: 'blob' }>;
type BlobResult = { ok: true; path: string } | { ok: false; error: WireError };

/** Bytes a streamed blob may hold in memory before the channel stops reading. */
const STREAM_BUFFER_BYTES = 4 << 20;

export class BlobStore {
  readonly dir: string;
  private next = 1;
  private readonly inflight = new Map<number, (f: BlobFrame, payload?: Buffer) => void>();
  private readonly bySha = new Map<string, Promise<BlobResult>>();

  /** `flow`: pauses the channel's input while a streamed blob's reader lags behind. */
  constructor(
    private readonly send: (f: AgentFrame) => void,
    private readonly flow?: { pause(): void; resume(): void },
  ) {
    // The agent lives at <berth dir>/agent/<sha>.mjs; blobs go beside it.
    this.dir = join(dirname(dirname(fileURLToPath(import.meta.url))), 'blobs');
  }

  get(sha256: string): Promise<BlobResult> {
    if (!/^[0-9a-f]{64}$/.test(sha256)) return Promise.resolve({ ok: false, error: { code: 'blob.bad-hash', message: `not a sha256: ${sha256}` } });
    const path = join(this.dir, sha256);
    if (existsSync(path)) return Promise.resolve({ ok: true, path });
    let p = this.bySha.get(sha256);
    if (!p) {
      p = this.fetch(sha256, path).finally(() => this.bySha.delete(sha256));
      this.bySha.set(sha256, p);
    }
    return p;
  }

  /**
   * The content as it arrives, not kept: for content used once and passed on, like an image
   * layer into `docker load`, which then overlaps with the transfer instead of following it, and
   * costs no write and read back of the whole layer. The hash is checked as the bytes go by; the
   * stream fails at its end when it does not match (whoever reads it must not commit before
   * the end). Content the store has already is read from there.
   */
  stream(sha256: string): Readable {
    // Errors reach whoever reads the stream; one nobody listens to must not end the agent.
    const failed = (error: WireError) => {
      const r = new PassThrough().on('error', () => {});
      r.destroy(Object.assign(new Error(error.message), { code: error.code }));
      return r;
    };
    if (!/^[0-9a-f]{64}$/.test(sha256)) return failed({ code: 'blob.bad-hash', message: `not a sha256: ${sha256}` });
    const path = join(this.dir, sha256);
    if (existsSync(path)) return createReadStream(path).on('error', () => {});
    const out = new PassThrough({ highWaterMark: STREAM_BUFFER_BYTES }).on('error', () => {});
    const id = this.next++;
    const hash = createHash('sha256');
    let paused = false;
    const resume = () => {
      if (!paused) return;
      paused = false;
      this.flow?.resume();
    };
    // A reader that went away (a failed load) must never leave the channel paused.
    out.on('close', resume);
    const done = (error?: WireError) => {
      this.inflight.delete(id);
      resume();
      if (error) out.destroy(Object.assign(new Error(error.message), { code: error.code }));
      else if (!out.destroyed) out.end();
    };
    this.inflight.set(id, (f, payload) => {
      if (!f.ok) return done(f.error);
      const bytes = 'data' in f ? Buffer.from(f.data, 'base64') : payload;
      if (!bytes) return done({ code: 'blob.corrupt', message: `a raw piece of ${sha256.slice(0, 12)} arrived without its bytes` });
      hash.update(bytes);
      // The last piece goes out only after the check: a reader never sees all of a bad blob.
      if (f.last && hash.digest('hex') !== sha256) return done({ code: 'blob.corrupt', message: `content received for ${sha256.slice(0, 12)} does not match its hash` });
      // Pieces for a reader that is gone are dropped; the rest of the blob still has to be read off the channel.
      if (!out.destroyed && !out.write(bytes) && !paused && this.flow) {
        paused = true;
        this.flow.pause();
        out.once('drain', resume);
      }
      if (f.last) done();
    });
    this.send({ t: 'fetch', fetch: id, sha256 });
    return out;
  }

  /** `payload`: the content of a raw frame (see ByteFrameReader). */
  onFrame(f: BlobFrame, payload?: Buffer): void {
    this.inflight.get(f.fetch)?.(f, payload);
  }

  /**
   * The controller is gone: content still on its way will never arrive. Failing those fetches
   * ends the tasks waiting for them (so the agent can exit instead of waiting forever) and
   * removes their partial temp files.
   */
  abortAll(): void {
    for (const id of [...this.inflight.keys()]) {
      this.inflight.get(id)?.({ t: 'blob', fetch: id, ok: false, error: { code: 'blob.aborted', message: 'the controller went away before the content arrived' } });
    }
  }

  private fetch(sha256: string, path: string): Promise<BlobResult> {
    mkdirSync(this.dir, { recursive: true });
    const id = this.next++;
    const tmp = `${path}.${process.pid}.${id}.tmp`;
    const fd = openSync(tmp, 'w', 0o600);
    const hash = createHash('sha256');
    return new Promise((resolve) => {
      const done = (r: BlobResult) => {
        this.inflight.delete(id);
        closeSync(fd);
        if (!r.ok) rmSync(tmp, { force: true });
        resolve(r);
      };
      this.inflight.set(id, (f, payload) => {
        if (!f.ok) return done({ ok: false, error: f.error });
        const bytes = 'data' in f ? Buffer.from(f.data, 'base64') : payload;
        if (!bytes) return done({ ok: false, error: { code: 'blob.corrupt', message: `a raw piece of ${sha256.slice(0, 12)} arrived without its bytes` } });
        hash.update(bytes);
        writeSync(fd, bytes);
        if (!f.last) return;
        if (hash.digest('hex') !== sha256) return done({ ok: false, error: { code: 'blob.corrupt', message: `content received for ${sha256.slice(0, 12)} does not match its hash` } });
        renameSync(tmp, path);
        done({ ok: true, path });
      });
      this.send({ t: 'fetch', fetch: id, sha256 });
    });
  }
}
