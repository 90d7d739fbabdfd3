// `file`: a path's kind (file, directory, symlink, absent) and its mode, owner and group. It
// never writes content: that is copy's and template's job.
import { closeSync, constants as C, fchmodSync, fchownSync, mkdirSync, openSync, renameSync, rmdirSync, symlinkSync, unlinkSync, type Stats } from 'node:fs';
import { lstat, readlink, rm } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { defineModule, failed, type ApplyResult, type Change } from './contract.js';
import { syncDir } from './lib/atomic-write.js';
import { baseOf, ioError, openDir, parentOf, resolveTrusted, type TrustedDir } from './lib/trusted-dir.js';
import { attrChanges, newMode, resolveAttrs, treeAttrChanges, type Attrs } from './lib/attrs.js';
import { formatMode } from './lib/mode.js';
import { fileSchema, type FileParams } from './params/file.js';

export { fileSchema, type FileParams };

const ok = (): ApplyResult => ({ ok: true });
const ioFail = (what: string, e: unknown): ApplyResult => ({ ok: false, error: { code: 'file.io', message: `${what}: ${(e as Error).message}` } });
const kindOf = (st: Stats | null) => (!st ? 'absent' : st.isDirectory() ? 'directory' : st.isSymbolicLink() ? 'link' : st.isFile() ? 'file' : 'special file');
const stateDiff = (path: string, before: string, after: string) => `--- ${path} (before)\n+++ ${path} (after)\n-${before}\n+${after}\n`;

export const file = defineModule({
  name: 'file',
  schema: fileSchema,
  async plan(p, ctx) {
    const state = p.state ?? 'file';
    const path = p.path.length > 1 ? p.path.replace(/\/+$/, '') : p.path;
    if (state === 'link' && !p.src) return failed('file.link-needs-src', 'state: link needs src (the link target)');
    const st = await lstat(path).catch(() => null);

    if (state === 'absent') {
      if (!st) return { ok: true, changes: [] };
      const change: Change = {
        summary: `remove ${kindOf(st)} ${path}`,
        cause: 'exists',
        apply: () => inParent(path, `cannot remove ${path}`, async (dir, name) => void (await rm(dir.at(name), { recursive: true, force: true }))),
      };
      if (ctx.diff) change.diff = stateDiff(path, `state: ${kindOf(st)}`, 'state: absent');
      return { ok: true, changes: [change] };
    }

    const resolved = await resolveAttrs(p, ctx.check);
    if (!resolved.ok) return resolved;
    const a = resolved.attrs;
    // file, touch and directory act on what a symlink points to, as Ansible's follow: yes; but
    // only through links root could have made (a user's link to /etc/shadow is refused by name).
    // (state: link replaces the link itself, inside a parent walked again when it is placed.)
    const trusted = state === 'link' ? ({ ok: true, value: path } as const) : resolveTrusted(path);
    if (!trusted.ok) return trusted;
    const target = st?.isSymbolicLink() && state !== 'link' ? trusted.value : path;
    const real = target === path ? st : await lstat(target).catch(() => null);
    if (st && !real) return failed('file.dangling-link', `${path} is a symlink to ${await readlink(path)}, which does not exist`);

    switch (state) {
      case 'file':
        if (!real) return failed('file.missing', `${path} does not exist`, 'state: file only manages an existing file; use state: touch to create an empty one, or copy/template to give it content');
        if (real.isDirectory()) return failed('file.is-directory', `${path} is a directory, not a file`);
        return { ok: true, changes: await attrChanges(target, real, a) };

      case 'touch':
        // An existing file keeps its timestamps: touching it every run would never converge.
        if (real) return { ok: true, changes: await attrChanges(target, real, a) };
        return { ok: true, changes: [create(path, 'file', a, ctx.diff)] };

      case 'directory': {
        if (real && !real.isDirectory()) return failed('file.not-directory', `${path} exists and is a ${kindOf(real)}, not a directory`);
        if (!real) return { ok: true, changes: [create(path, 'directory', a, ctx.diff)] };
        const changes = await attrChanges(target, real, a);
        if (p.recursive) changes.push(...(await treeAttrChanges(target, a)));
        return { ok: true, changes };
      }

      case 'link': {
        const target = p.src!;
        if (st?.isSymbolicLink() && (await readlink(path)) === target) return { ok: true, changes: await attrChanges(path, st, a, { link: true }) };
        if (st && !st.isSymbolicLink() && !p.force) {
          return failed('file.in-the-way', `${path} is a ${kindOf(st)}; not replacing it with a symlink`, 'set force: true to replace it');
        }
        const change: Change = {
          summary: `${st ? 'point' : 'create'} symlink ${path} -> ${target}`,
          cause: !st ? 'missing' : st.isSymbolicLink() ? `points to ${await readlink(path)}` : `a ${kindOf(st)} is in the way`,
          apply: () => placeLink(path, target, st, a),
        };
        if (ctx.diff) change.diff = stateDiff(path, st?.isSymbolicLink() ? `link -> ${await readlink(path)}` : `state: ${kindOf(st)}`, `link -> ${target}`);
        return { ok: true, changes: [change] };
      }
    }
  },
});

function create(path: string, kind: 'file' | 'directory', a: Attrs, diff: boolean): Change {
  const mode = newMode(a, kind === 'directory');
  const change: Change = {
    summary: `create ${kind} ${path} (mode ${formatMode(mode)})`,
    cause: 'missing',
    apply: () => {
      // Parents get the umask's mode (mkdir -p); only the leaf gets the requested attributes,
      // set through the descriptor of what was just made (mkdir/open honour the umask).
      const opened = openDir(parentOf(path), { create: { mode: 0o777 } });
      if (!opened.ok) return Promise.resolve(opened);
      const dir = opened.value;
      const name = baseOf(path);
      let fd: number | undefined;
      try {
        if (kind === 'directory') {
          mkdirSync(dir.at(name), mode);
          fd = openSync(dir.at(name), C.O_RDONLY | C.O_DIRECTORY | C.O_NOFOLLOW);
        } else {
          fd = openSync(dir.at(name), C.O_WRONLY | C.O_CREAT | C.O_EXCL | C.O_NOFOLLOW, mode);
        }
        if (a.uid !== undefined || a.gid !== undefined) fchownSync(fd, a.uid ?? -1, a.gid ?? -1);
        fchmodSync(fd, mode);
        syncDir(dir);
        return Promise.resolve(ok());
      } catch (e) {
        return Promise.resolve(ioFail(`cannot create ${path}`, e));
      } finally {
        if (fd !== undefined) closeSync(fd);
        dir.close();
      }
    },
  };
  if (diff) change.diff = stateDiff(path, 'state: absent', `state: ${kind}, mode ${formatMode(mode)}`);
  return change;
}

/** Creates or repoints a symlink atomically: a new link beside it, renamed over the old one. */
async function placeLink(path: string, target: string, st: Stats | null, a: Attrs): Promise<ApplyResult> {
  const tmp = `.${baseOf(path)}.berth-${randomBytes(4).toString('hex')}.tmp`;
  const placed = await inParent(path, `cannot create symlink ${path}`, (dir, name) => {
    try {
      symlinkSync(target, dir.at(tmp));
      // rename cannot replace a directory with a link; only an empty one goes (force was checked).
      if (st?.isDirectory()) rmdirSync(dir.at(name));
      renameSync(dir.at(tmp), dir.at(name));
    } catch (e) {
      try {
        unlinkSync(dir.at(tmp));
      } catch {
        // Never made.
      }
      throw e;
    }
  });
  if (!placed.ok) return placed;
  for (const c of await attrChanges(path, await lstat(path), a, { link: true })) {
    const r = await c.apply();
    if (!r.ok) return r;
  }
  return { ok: true };
}

/**
 * Runs `fn` on `path`'s name inside its directory, opened without following a link a user could
 * have planted above it, then makes the change durable.
 */
async function inParent(path: string, what: string, fn: (dir: TrustedDir, name: string) => unknown): Promise<ApplyResult> {
  const opened = openDir(parentOf(path));
  if (!opened.ok) return opened;
  try {
    await fn(opened.value, baseOf(path));
    syncDir(opened.value);
    return ok();
  } catch (e) {
    return { ok: false, error: ioError(what, e) };
  } finally {
    opened.value.close();
  }
}
