// Content the controller sent, kept on the host by sha256 under berth's directory, so that the
// same file is never sent twice. Fetches go over the protocol channel and are verified.
import { createHash } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AgentFrame, ControllerFrame, WireError } from '../protocol/agent-protocol.js';

type BlobFrame = Extract<ControllerFrame, { t: 'blob' }>;
type BlobResult = { ok: true; path: string } | { ok: false; error: WireError };

export class BlobStore {
  readonly dir: string;
  private next = 1;
  private readonly inflight = new Map<number, (f: BlobFrame) => void>();
  private readonly bySha = new Map<string, Promise<BlobResult>>();

  constructor(private readonly send: (f: AgentFrame) => void) {
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

  onFrame(f: BlobFrame): void {
    this.inflight.get(f.fetch)?.(f);
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
      this.inflight.set(id, (f) => {
        if (!f.ok) return done({ ok: false, error: f.error });
        const bytes = Buffer.from(f.data, 'base64');
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
