// Content a run may send to hosts (files to copy, rendered templates), by sha256. Plans carry
// only the hashes; an agent that lacks one fetches it, once, and keeps it.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';

export class BlobRegistry {
  private readonly blobs = new Map<string, Buffer>();
  /** Bytes actually served to agents during this run. */
  served = 0;

  add(content: Buffer | string): { sha256: string; size: number } {
    const buf = typeof content === 'string' ? Buffer.from(content) : content;
    const sha256 = createHash('sha256').update(buf).digest('hex');
    this.blobs.set(sha256, buf);
    return { sha256, size: buf.length };
  }

  addFile(path: string): { sha256: string; size: number } {
    return this.add(readFileSync(path));
  }

  get(sha256: string): Buffer | undefined {
    return this.blobs.get(sha256);
  }
}
