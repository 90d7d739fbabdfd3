// Content a run may send to hosts (files to copy, rendered templates), by sha256. Plans carry
// only the hashes; an agent that lacks one fetches it, once, and keeps it. Content that is the
// same for every host that gets it (files, build contexts, image layers) may pass from host to
// host through relays; content rendered for a host (templates, inline content, which may hold
// that host's secrets) goes from the controller to that host only.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';

export class BlobRegistry {
  private readonly blobs = new Map<string, Buffer>();
  private readonly files = new Map<string, { sha256: string; size: number }>();
  /** Hashes hosts may pass on to each other. */
  private readonly shareable = new Set<string>();
  /** Bytes actually served to agents during this run. */
  served = 0;

  /** `share`: the content is not rendered for one host (a file, an image layer): relays may carry it. */
  add(content: Buffer | string, opts: { share?: boolean } = {}): { sha256: string; size: number } {
    const buf = typeof content === 'string' ? Buffer.from(content) : content;
    const sha256 = createHash('sha256').update(buf).digest('hex');
    this.blobs.set(sha256, buf);
    if (opts.share) this.shareable.add(sha256);
    return { sha256, size: buf.length };
  }

  /** Whether relays may carry this content (see add). */
  mayShare(sha256: string): boolean {
    return this.shareable.has(sha256);
  }

  /**
   * A file is read and hashed once per run, not once per host: a 24 MB copy to 50 hosts
   * cost 1.5 s of the controller's CPU before (bench/README.md). Every host gets the content
   * as it was when the first plan was rendered.
   */
  addFile(path: string): { sha256: string; size: number } {
    let known = this.files.get(path);
    if (!known) this.files.set(path, (known = this.add(readFileSync(path), { share: true })));
    return known;
  }

  /** The size of the largest content registered. */
  get largest(): number {
    let n = 0;
    for (const b of this.blobs.values()) n = Math.max(n, b.length);
    return n;
  }

  get(sha256: string): Buffer | undefined {
    return this.blobs.get(sha256);
  }
}
