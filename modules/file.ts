// `file`: a path's kind (file, directory, symlink, absent) and its mode, owner and group. It
// never writes content: that is copy's and template's job.
import type { Stats } from 'node:fs';
import { lstat, mkdir, open, readlink, rename, rm, rmdir, stat, symlink, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { Type, type Static } from '@sinclair/typebox';
import { defineModule, failed, type ApplyResult, type Change } from './contract.js';
import { syncDir } from './lib/atomic-write.js';
import { attrChanges, attrProperties, newMode, resolveAttrs, treeAttrChanges, type Attrs } from './lib/attrs.js';
import { formatMode } from './lib/mode.js';
import { OneOf } from './lib/schema.js';

export const fileSchema = Type.Object(
  {
    path: Type.String({ minLength: 1, description: 'Path on the host.' }),
    state: Type.Optional(
      OneOf(['file', 'directory', 'absent', 'touch', 'link'], 'file: must exist, set attributes (default); directory: create with parents; absent: remove (recursively); touch: create an empty file if missing; link: symlink to src.'),
    ),
    src: Type.Optional(Type.String({ minLength: 1, description: 'Target of the symlink (state: link).' })),
    force: Type.Optional(Type.Boolean({ description: 'state link: replace a file or empty directory that is in the way (default false).' })),
    recursive: Type.Optional(Type.Boolean({ description: 'state directory: also apply owner, group and mode to everything inside.' })),
    ...attrProperties,
  },
  { additionalProperties: false, description: 'Manages a path\'s kind (file, directory, symlink, absent) and its mode, owner and group.' },
);
export type FileParams = Static<typeof fileSchema>;

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
        apply: () => rm(path, { recursive: true, force: true }).then(() => syncDir(dirname(path))).then(ok, (e) => ioFail(`cannot remove ${path}`, e)),
      };
      if (ctx.diff) change.diff = stateDiff(path, `state: ${kindOf(st)}`, 'state: absent');
      return { ok: true, changes: [change] };
    }

    const resolved = await resolveAttrs(p, ctx.check);
    if (!resolved.ok) return resolved;
    const a = resolved.attrs;
    // file, touch and directory act on what a symlink points to, as Ansible's follow: yes.
    const real = st?.isSymbolicLink() && state !== 'link' ? await stat(path).catch(() => null) : st;
    if (st && !real) return failed('file.dangling-link', `${path} is a symlink to ${await readlink(path)}, which does not exist`);

    switch (state) {
      case 'file':
        if (!real) return failed('file.missing', `${path} does not exist`, 'state: file only manages an existing file; use state: touch to create an empty one, or copy/template to give it content');
        if (real.isDirectory()) return failed('file.is-directory', `${path} is a directory, not a file`);
        return { ok: true, changes: await attrChanges(path, real, a) };

      case 'touch':
        // An existing file keeps its timestamps: touching it every run would never converge.
        if (real) return { ok: true, changes: await attrChanges(path, real, a) };
        return { ok: true, changes: [create(path, 'file', a, ctx.diff)] };

      case 'directory': {
        if (real && !real.isDirectory()) return failed('file.not-directory', `${path} exists and is a ${kindOf(real)}, not a directory`);
        if (!real) return { ok: true, changes: [create(path, 'directory', a, ctx.diff)] };
        const changes = await attrChanges(path, real, a);
        if (p.recursive) changes.push(...(await treeAttrChanges(path, a)));
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
    apply: async () => {
      try {
        if (kind === 'directory') {
          // Parents get the umask's mode; only the leaf gets the requested attributes.
          await mkdir(dirname(path), { recursive: true });
          await mkdir(path, { mode });
        } else {
          const fh = await open(path, 'wx', mode);
          await fh.close();
        }
        const st = await lstat(path);
        // mkdir/open honour the umask; set the exact mode and ownership afterwards.
        for (const c of await attrChanges(path, st, { ...a, mode: () => mode })) {
          const r = await c.apply();
          if (!r.ok) return r;
        }
        await syncDir(dirname(path));
        return { ok: true };
      } catch (e) {
        return ioFail(`cannot create ${path}`, e);
      }
    },
  };
  if (diff) change.diff = stateDiff(path, 'state: absent', `state: ${kind}, mode ${formatMode(mode)}`);
  return change;
}

/** Creates or repoints a symlink atomically: a new link beside it, renamed over the old one. */
async function placeLink(path: string, target: string, st: Stats | null, a: Attrs): Promise<ApplyResult> {
  const tmp = join(dirname(path), `.${basename(path)}.berth-${randomBytes(4).toString('hex')}.tmp`);
  try {
    await symlink(target, tmp);
    // rename cannot replace a directory with a link; only an empty one goes (force was checked).
    if (st?.isDirectory()) await rmdir(path);
    await rename(tmp, path);
  } catch (e) {
    await unlink(tmp).catch(() => {});
    return ioFail(`cannot create symlink ${path}`, e);
  }
  for (const c of await attrChanges(path, await lstat(path), a, { link: true })) {
    const r = await c.apply();
    if (!r.ok) return r;
  }
  await syncDir(dirname(path));
  return { ok: true };
}
