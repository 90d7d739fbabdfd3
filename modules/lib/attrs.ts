// mode / owner / group of a path, shared by every module that writes files: resolve what the
// task asks for once, then compare it with what is on disk and plan one change per attribute.
import type { Stats } from 'node:fs';
import { lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { Type } from '@sinclair/typebox';
import type { WireError } from '../../protocol/agent-protocol.js';
import type { ApplyResult, Change } from '../contract.js';
import { gidOf, nameOf, uidOf } from './ids.js';
import { formatMode, parseMode, type ModeFn } from './mode.js';
import { chmodEntry, chownEntry } from './trusted-dir.js';

/** The schema fragment every file-writing module shares. */
export const attrProperties = {
  mode: Type.Optional(
    Type.String({ minLength: 1, description: 'Permissions: an octal string like "0644" (quote it: YAML reads 0644 as a decimal number) or symbolic like "u=rw,g=r,o=r".' }),
  ),
  owner: Type.Optional(Type.Union([Type.String({ minLength: 1 }), Type.Integer({ minimum: 0 })], { description: 'Owner: a user name or a numeric uid.' })),
  group: Type.Optional(Type.Union([Type.String({ minLength: 1 }), Type.Integer({ minimum: 0 })], { description: 'Group: a group name or a numeric gid.' })),
};

export interface AttrParams {
  mode?: string;
  owner?: string | number;
  group?: string | number;
}

export interface Attrs {
  mode?: ModeFn;
  uid?: number;
  gid?: number;
  /** Names that do not exist yet; only in check mode, where an earlier task would create them. */
  pendingOwner?: string;
  pendingGroup?: string;
}

export async function resolveAttrs(p: AttrParams, check: boolean): Promise<{ ok: true; attrs: Attrs } | { ok: false; error: WireError }> {
  const attrs: Attrs = {};
  if (p.mode !== undefined) {
    attrs.mode = parseMode(p.mode);
    if (!attrs.mode) return { ok: false, error: { code: 'file.bad-mode', message: `mode "${p.mode}" is neither octal ("0644") nor symbolic ("u=rw,g=r,o=r")` } };
  }
  if (p.owner !== undefined) {
    const u = await uidOf(p.owner);
    if (u.ok) attrs.uid = u.id;
    else if (check) attrs.pendingOwner = String(p.owner);
    else return u;
  }
  if (p.group !== undefined) {
    const g = await gidOf(p.group);
    if (g.ok) attrs.gid = g.id;
    else if (check) attrs.pendingGroup = String(p.group);
    else return g;
  }
  return { ok: true, attrs };
}

/** Mode for a file that does not exist yet: what was asked, else what the umask gives. */
export function newMode(a: Attrs, isDir: boolean): number {
  const umask = process.umask();
  const base = (isDir ? 0o777 : 0o666) & ~umask;
  return a.mode ? a.mode(base, isDir) : base;
}

/** An attribute change as an apply step: through a handle on what is there now, never a path that could have become a link. */
const step = (r: () => { ok: true } | { ok: false; error: WireError }) => async (): Promise<ApplyResult> => {
  const done = r();
  return done.ok ? { ok: true } : { ok: false, error: done.error.code === 'file.io' ? { ...done.error, code: 'file.attr-failed' } : done.error };
};

/** Changes that bring one existing path's owner, group and mode to what was asked. */
export async function attrChanges(path: string, st: Stats, a: Attrs, opts: { link?: boolean } = {}): Promise<Change[]> {
  const changes: Change[] = [];
  if (a.pendingOwner) changes.push(pending(path, 'owner', a.pendingOwner));
  if (a.pendingGroup) changes.push(pending(path, 'group', a.pendingGroup));
  if (a.uid !== undefined && st.uid !== a.uid) {
    const uid = a.uid;
    changes.push({
      summary: `owner of ${path}: ${await nameOf('passwd', st.uid)} -> ${await nameOf('passwd', uid)}`,
      cause: 'owner differs',
      apply: step(() => chownEntry(path, uid, -1, opts.link)),
    });
  }
  if (a.gid !== undefined && st.gid !== a.gid) {
    const gid = a.gid;
    changes.push({
      summary: `group of ${path}: ${await nameOf('group', st.gid)} -> ${await nameOf('group', gid)}`,
      cause: 'group differs',
      apply: step(() => chownEntry(path, -1, gid, opts.link)),
    });
  }
  // Symlinks have no mode of their own on Linux.
  if (a.mode && !opts.link) {
    const now = st.mode & 0o7777;
    const want = a.mode(now, st.isDirectory());
    if (want !== now) {
      changes.push({
        summary: `mode of ${path}: ${formatMode(now)} -> ${formatMode(want)}`,
        cause: 'mode differs',
        apply: step(() => chmodEntry(path, want)),
      });
    }
  }
  return changes;
}

function pending(path: string, what: 'owner' | 'group', name: string): Change {
  return {
    summary: `${what} of ${path} -> ${name}`,
    cause: `${what} "${name}" does not exist yet (an earlier task would create it)`,
    apply: async () => ({ ok: false, error: { code: `file.unknown-${what === 'owner' ? 'user' : 'group'}`, message: `no ${what === 'owner' ? 'user' : 'group'} named "${name}" on this host` } }),
  };
}

/**
 * Owner, group and mode of everything below `root` (not root itself), summarized: a tree of
 * ten thousand files is one change per attribute, not ten thousand lines.
 */
export async function treeAttrChanges(root: string, a: Attrs): Promise<Change[]> {
  const entries: Array<{ path: string; st: Stats }> = [];
  const walk = async (dir: string): Promise<void> => {
    for (const name of await readdir(dir)) {
      const p = join(dir, name);
      const st = await lstat(p);
      entries.push({ path: p, st });
      if (st.isDirectory()) await walk(p);
    }
  };
  await walk(root);
  const byKind = new Map<string, Array<() => Promise<ApplyResult>>>();
  for (const { path, st } of entries) {
    for (const c of await attrChanges(path, st, a, { link: st.isSymbolicLink() })) {
      const kind = c.cause ?? 'attributes differ';
      if (!byKind.has(kind)) byKind.set(kind, []);
      byKind.get(kind)!.push(c.apply);
    }
  }
  return [...byKind].map(([cause, applies]) => ({
    summary: `${cause.replace(/ differs$/, '')} of ${applies.length} ${applies.length === 1 ? 'entry' : 'entries'} under ${root}`,
    cause,
    apply: async () => {
      for (const apply of applies) {
        const r = await apply();
        if (!r.ok) return r;
      }
      return { ok: true };
    },
  }));
}
