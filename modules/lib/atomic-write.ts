// Replaces a file so that readers see the old content or the new one, never a mix, and a crash
// leaves at most a stray temp file beside it: write a temp file in the same directory (same
// filesystem, so rename is atomic), give it its final mode and owner, fsync, rename, fsync the
// directory so the rename itself survives a power cut.
//
// The agent writes as root into directories users own, so nothing here follows a link a user
// could plant: the directory is opened without untrusted symlinks (trusted-dir.ts) and pinned;
// the temp file is created new (O_CREAT|O_EXCL|O_NOFOLLOW) and written, chowned and chmod-ed
// through that one descriptor, never reopened by name; the rename happens inside the pinned
// directory, and the name is checked to hold the file written afterwards.
import { randomBytes } from 'node:crypto';
import { closeSync, constants as C, createReadStream, fsyncSync, lstatSync, openSync, readlinkSync, renameSync, unlinkSync, writeFileSync, type Stats } from 'node:fs';
import { open } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import type { ApplyResult } from '../contract.js';
import { changed, ioError, linkInTheWay, openDir, trustedOwner, type TrustedDir } from './trusted-dir.js';

export interface FinalAttrs {
  mode: number;
  uid?: number;
  gid?: number;
  /**
   * A symlink at `path` is replaced, never followed. One that a user other than root owns is
   * replaced only when the plan saw it there (copy's follow: no): one planted since fails the
   * write, naming it.
   */
  replaceLink?: boolean;
}

export type Content = { data: string | Buffer } | { file: string };

const NEW_FILE = C.O_WRONLY | C.O_CREAT | C.O_EXCL | C.O_NOFOLLOW;
const tempName = (name: string) => `.${name}.berth-${randomBytes(6).toString('hex')}.tmp`;

export async function writeAtomic(path: string, content: Content, attrs: FinalAttrs): Promise<ApplyResult> {
  const opened = openDir(dirname(path));
  if (!opened.ok) return opened;
  const dir = opened.value;
  const name = basename(path);
  const tmp = tempName(name);
  try {
    const fh = await open(dir.at(tmp), NEW_FILE, 0o600);
    let written: { ino: number; dev: number };
    try {
      if ('data' in content) await fh.writeFile(content.data);
      // writeFile on a handle writes at its position: chunk after chunk, each one whole.
      else for await (const chunk of createReadStream(content.file, { highWaterMark: 1 << 20 })) await fh.writeFile(chunk as Buffer);
      if (attrs.uid !== undefined || attrs.gid !== undefined) await fh.chown(attrs.uid ?? -1, attrs.gid ?? -1);
      // After chown: changing the owner clears setuid/setgid bits.
      await fh.chmod(attrs.mode);
      await fh.sync();
      written = await fh.stat();
    } finally {
      await fh.close();
    }
    const now = lstatOrNull(dir.at(name));
    if (now?.isSymbolicLink() && !attrs.replaceLink && !trustedOwner(now.uid)) {
      removeQuietly(dir, tmp);
      return { ok: false, error: linkInTheWay(path, readlinkSync(dir.at(name))) };
    }
    renameSync(dir.at(tmp), dir.at(name));
    const there = lstatSync(dir.at(name));
    if (there.ino !== written.ino || there.dev !== written.dev) return { ok: false, error: changed(path) };
    syncDir(dir);
    return { ok: true };
  } catch (e) {
    removeQuietly(dir, tmp);
    return { ok: false, error: ioError(`cannot write ${path}`, e) };
  } finally {
    dir.close();
  }
}

/**
 * The same for small files the agent keeps for itself (registry state, releases, ambassador
 * configs), synchronously: missing directories are made (0755), the file gets `mode` as it is
 * created, and it is not fsynced (live state, rewritten often).
 */
export function writeAtomicSync(path: string, data: string | Buffer, mode: number): ApplyResult {
  const opened = openDir(dirname(path), { create: { mode: 0o755 } });
  if (!opened.ok) return opened;
  const dir = opened.value;
  const name = basename(path);
  const tmp = tempName(name);
  try {
    const fd = openSync(dir.at(tmp), NEW_FILE, mode);
    try {
      writeFileSync(fd, data);
    } finally {
      closeSync(fd);
    }
    renameSync(dir.at(tmp), dir.at(name));
    return { ok: true };
  } catch (e) {
    removeQuietly(dir, tmp);
    return { ok: false, error: ioError(`cannot write ${path}`, e) };
  } finally {
    dir.close();
  }
}

/** Renames `from` to `to`, two names in directory `dir`, reached through no untrusted link. */
export function renameInDir(dir: string, from: string, to: string): ApplyResult {
  const opened = openDir(dir);
  if (!opened.ok) return opened;
  try {
    renameSync(opened.value.at(from), opened.value.at(to));
    return { ok: true };
  } catch (e) {
    return { ok: false, error: ioError(`cannot rename ${from} to ${to} in ${dir}`, e) };
  } finally {
    opened.value.close();
  }
}

function lstatOrNull(path: string): Stats | null {
  try {
    return lstatSync(path);
  } catch {
    return null;
  }
}

function removeQuietly(dir: TrustedDir, name: string): void {
  try {
    unlinkSync(dir.at(name));
  } catch {
    // Never created, or gone already.
  }
}

/** Makes a rename or unlink in a directory durable; best effort (some filesystems refuse it). */
export function syncDir(dir: TrustedDir | string): void {
  if (typeof dir !== 'string') {
    try {
      fsyncSync(dir.fd);
    } catch {
      // fsync of a directory is not supported everywhere (e.g. some FUSE mounts); the rename
      // itself is still atomic.
    }
    return;
  }
  const opened = openDir(dir);
  if (!opened.ok) return;
  syncDir(opened.value);
  opened.value.close();
}
