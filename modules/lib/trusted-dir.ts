// Directories reached without following a symlink that someone else could have planted. The
// agent often writes as root into places a user owns (a template to ~alice/.config): a path
// there that alice turned into a symlink would send root's write (and its chown) to /etc/shadow.
//
// So a directory is opened from / one component at a time, each with O_NOFOLLOW|O_DIRECTORY. A
// symlink on the way is followed only when root (or the agent's own user) owns it: the system's
// own /var/run -> /run, never one a user made. The open descriptor then pins the directory, and
// every name below it is reached through /proc/self/fd/N/<name>, which the kernel resolves from
// that directory: Node's openat/renameat/mkdirat. Swapping a parent for a symlink after the walk
// changes nothing.
import { chmodSync, chownSync, closeSync, constants as C, fstatSync, lchownSync, lstatSync, mkdirSync, openSync, readlinkSync, type Stats } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import type { WireError } from '../../protocol/agent-protocol.js';

export interface TrustedDir {
  /** The directory's real path (trusted links resolved), for messages and for other processes. */
  readonly path: string;
  readonly fd: number;
  /** A name inside this directory, for any call that takes a path: resolved from the open directory. */
  at(name: string): string;
  close(): void;
}

export type Opened<T> = { ok: true; value: T } | { ok: false; error: WireError };

/** Linux's O_PATH (the same value on every architecture Node runs on): a handle that opens nothing. */
export const O_PATH = 0o10000000;
const DIR_FLAGS = C.O_RDONLY | C.O_DIRECTORY | C.O_NOFOLLOW;
/** Symlinks followed on one path at most, as the kernel's own limit (ELOOP). */
const MAX_LINKS = 40;
const procFd = (() => {
  try {
    return lstatSync('/proc/self/fd').isDirectory();
  } catch {
    return false;
  }
})();

/** Owners whose symlinks are followed: root, and the user the agent runs as. */
export const trustedOwner = (uid: number): boolean => uid === 0 || uid === process.getuid?.();

export function untrustedLink(link: string, st: Stats, target: string): WireError {
  return {
    code: 'file.untrusted-link',
    message: `${link} is a symlink (to ${target}) owned by uid ${st.uid}: berth does not follow a link that a user other than root could have planted`,
    detail: 'writes as root go only through directories and links that root owns; replace the link by a directory, or write to its target directly',
  };
}

/**
 * Opens directory `path` without following an untrusted symlink on the way. With `create`,
 * missing directories are made (mode `create.mode`, less the umask), like `mkdir -p`.
 */
export function openDir(path: string, opts: { create?: { mode: number } } = {}): Opened<TrustedDir> {
  let fd = openSync('/', DIR_FLAGS);
  let real = '/';
  const todo = resolve(path).split('/').filter((c) => c !== '' && c !== '.');
  let links = 0;
  const fail = (error: WireError): Opened<TrustedDir> => {
    try {
      closeSync(fd);
    } catch {
      // Closed already, on the way to this error.
    }
    return { ok: false, error };
  };
  try {
    while (todo.length) {
      const name = todo.shift()!;
      const next = name === '..' ? real.replace(/\/[^/]*$/, '') || '/' : join(real, name);
      const at = inside(fd, real, name);
      let nfd: number;
      try {
        nfd = openSync(at, DIR_FLAGS);
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code === 'ENOENT' && opts.create && name !== '..') {
          try {
            mkdirSync(at, opts.create.mode);
          } catch (m) {
            if ((m as NodeJS.ErrnoException).code !== 'EEXIST') throw m;
          }
          todo.unshift(name);
          continue;
        }
        if (code === 'ENOENT') return fail({ code: 'file.no-directory', message: `directory ${next} does not exist` });
        if (code !== 'ELOOP' && code !== 'ENOTDIR') throw e;
        const st = lstatSync(at);
        if (!st.isSymbolicLink()) throw e;
        const target = readlinkSync(at);
        // The link read is the one checked: a user swapping it in between shows as a new inode.
        const again = lstatSync(at);
        if (again.ino !== st.ino || again.dev !== st.dev) return fail(changed(next));
        if (!trustedOwner(st.uid)) return fail(untrustedLink(next, st, target));
        if (++links > MAX_LINKS) return fail({ code: 'file.too-many-links', message: `${path}: more than ${MAX_LINKS} symlinks on the way` });
        todo.unshift(...target.split('/').filter((c) => c !== '' && c !== '.'));
        if (isAbsolute(target)) {
          closeSync(fd);
          fd = openSync('/', DIR_FLAGS);
          real = '/';
        }
        continue;
      }
      closeSync(fd);
      fd = nfd;
      real = next;
    }
  } catch (e) {
    return fail(ioError(`cannot open directory ${path}`, e));
  }
  const dirFd = fd;
  return { ok: true, value: { path: real, fd: dirFd, at: (name) => inside(dirFd, real, name), close: () => closeSync(dirFd) } };
}

/**
 * Where `path` really is, its symlinks followed only when trusted (the last one too): what
 * lineinfile edits and what `file` sets attributes on. Nothing is opened but directories.
 */
export function resolveTrusted(path: string): Opened<string> {
  let p = path;
  for (let links = 0; ; links++) {
    const dir = openDir(parentOf(p));
    // Nothing there yet, so no link to follow: what creates it walks the path again.
    if (!dir.ok) return dir.error.code === 'file.no-directory' ? { ok: true, value: p } : dir;
    const name = baseOf(p);
    try {
      const full = join(dir.value.path, name);
      let st: Stats;
      try {
        st = lstatSync(dir.value.at(name));
      } catch {
        return { ok: true, value: full };
      }
      if (!st.isSymbolicLink()) return { ok: true, value: full };
      const target = readlinkSync(dir.value.at(name));
      if (!trustedOwner(st.uid)) return { ok: false, error: untrustedLink(full, st, target) };
      if (links >= MAX_LINKS) return { ok: false, error: { code: 'file.too-many-links', message: `${path}: more than ${MAX_LINKS} symlinks on the way` } };
      p = isAbsolute(target) ? target : join(dir.value.path, target);
    } finally {
      dir.value.close();
    }
  }
}

/**
 * Runs `fn` with a handle on `path` itself (O_PATH, never following it) and the directory that
 * holds it: for chown and chmod of what is there now, whatever was there when the plan was made.
 */
export function withEntry<T>(path: string, what: string, fn: (entry: { fd: number; st: Stats; dir: TrustedDir; name: string; self: string }) => T): Opened<T> {
  const dir = openDir(parentOf(path));
  if (!dir.ok) return dir;
  const name = baseOf(path);
  let fd: number | undefined;
  try {
    fd = openSync(dir.value.at(name), O_PATH | C.O_NOFOLLOW);
    const st = fstatSync(fd);
    return { ok: true, value: fn({ fd, st, dir: dir.value, name, self: procFd ? `/proc/self/fd/${fd}` : join(dir.value.path, name) }) };
  } catch (e) {
    return { ok: false, error: ioError(`${what} ${path}`, e) };
  } finally {
    if (fd !== undefined) closeSync(fd);
    dir.value.close();
  }
}

export const parentOf = (path: string): string => {
  const trimmed = path.length > 1 ? path.replace(/\/+$/, '') : path;
  const at = trimmed.lastIndexOf('/');
  return at <= 0 ? (isAbsolute(trimmed) ? '/' : '.') : trimmed.slice(0, at);
};
export const baseOf = (path: string): string => (path.length > 1 ? path.replace(/\/+$/, '') : path).split('/').pop() || '.';

/** `path` was planned as a file or directory and is a symlink now: someone planted it since. */
export const linkInTheWay = (path: string, target: string): WireError => ({
  code: 'file.untrusted-link',
  message: `${path} is now a symlink (to ${target}): berth does not follow it`,
  detail: 'it was no link when the task was planned; someone else is changing this path',
});

/** Owner and group of what is at `path` now, never following it unless it is a link and `link` is set (then the link's own). */
export function chownEntry(path: string, uid: number, gid: number, link = false): Opened<void> {
  const r = withEntry(path, 'cannot set the owner of', ({ st, dir, name, self }): WireError | undefined => {
    if (!st.isSymbolicLink()) return void chownSync(self, uid, gid);
    if (!link) return linkInTheWay(path, readlinkSync(dir.at(name)));
    lchownSync(dir.at(name), uid, gid);
  });
  return !r.ok ? r : r.value ? { ok: false, error: r.value } : { ok: true, value: undefined };
}

/** Mode of what is at `path` now, never following a symlink there (Linux links have no mode). */
export function chmodEntry(path: string, mode: number): Opened<void> {
  const r = withEntry(path, 'cannot set the mode of', ({ st, dir, name, self }): WireError | undefined => (st.isSymbolicLink() ? linkInTheWay(path, readlinkSync(dir.at(name))) : void chmodSync(self, mode)));
  return !r.ok ? r : r.value ? { ok: false, error: r.value } : { ok: true, value: undefined };
}

export const changed = (path: string): WireError => ({ code: 'file.changed-underneath', message: `${path} changed while berth was writing it (someone else is writing there)` });

export function ioError(what: string, e: unknown): WireError {
  const err = e as NodeJS.ErrnoException;
  return { code: 'file.io', message: `${what}: ${err.code ? `${err.code} ` : ''}${err.message}` };
}

/** `name` in the directory open as `fd` (at `real`): through /proc when the kernel has it. */
function inside(fd: number, real: string, name: string): string {
  return procFd ? `/proc/self/fd/${fd}/${name}` : join(real, name);
}
