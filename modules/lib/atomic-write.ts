// Replaces a file so that readers see the old content or the new one, never a mix, and a crash
// leaves at most a stray temp file beside it: write a temp file in the same directory (same
// filesystem, so rename is atomic), give it its final mode and owner, fsync, rename, fsync the
// directory so the rename itself survives a power cut.
import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { copyFile, open, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { ApplyResult } from '../contract.js';

export interface FinalAttrs {
  mode: number;
  uid?: number;
  gid?: number;
}

export type Content = { data: string | Buffer } | { file: string };

export async function writeAtomic(path: string, content: Content, attrs: FinalAttrs): Promise<ApplyResult> {
  const dir = dirname(path);
  const tmp = join(dir, `.${basename(path)}.berth-${randomBytes(4).toString('hex')}.tmp`);
  try {
    if ('file' in content) await copyFile(content.file, tmp, constants.COPYFILE_EXCL);
    const fh = await open(tmp, 'file' in content ? 'r+' : 'wx', 0o600);
    try {
      if ('data' in content) await fh.writeFile(content.data);
      if (attrs.uid !== undefined || attrs.gid !== undefined) await fh.chown(attrs.uid ?? -1, attrs.gid ?? -1);
      // After chown: changing the owner clears setuid/setgid bits.
      await fh.chmod(attrs.mode);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, path);
  } catch (e) {
    await rm(tmp, { force: true }).catch(() => {});
    const err = e as NodeJS.ErrnoException;
    return { ok: false, error: { code: 'file.write-failed', message: `cannot write ${path}: ${err.code ?? ''} ${err.message}`.trim() } };
  }
  await syncDir(dir);
  return { ok: true };
}

/** Makes a rename or unlink in `dir` durable; best effort (some filesystems refuse it). */
export async function syncDir(dir: string): Promise<void> {
  try {
    const d = await open(dir, 'r');
    try {
      await d.sync();
    } finally {
      await d.close();
    }
  } catch {
    // fsync of a directory is not supported everywhere (e.g. some FUSE mounts); the rename
    // itself is still atomic.
  }
}
