import { createHash } from 'node:crypto';
import { constants } from 'node:fs';
import { open } from 'node:fs/promises';

/** sha256 of a file's bytes, streamed so big files cost no memory; `flags` as open(2) takes them. */
export async function sha256File(path: string, flags: number = constants.O_RDONLY): Promise<string> {
  const fh = await open(path, flags);
  try {
    const h = createHash('sha256');
    for await (const d of fh.createReadStream({ autoClose: false, highWaterMark: 1 << 20 })) h.update(d as Buffer);
    return h.digest('hex');
  } finally {
    await fh.close();
  }
}
