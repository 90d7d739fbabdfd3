// The agent half of `copy` and `template`: the controller already turned the source into a
// content hash (controller/prepare/), so the host compares hashes, and fetches and writes the
// content only when the file differs.
import { constants, type Stats } from 'node:fs';
import { lstat, readFile, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { failed, type Change, type ModuleContext, type PlanResult } from '../contract.js';
import { writeAtomic } from './atomic-write.js';
import { attrChanges, newMode, resolveAttrs, type AttrParams } from './attrs.js';
import { contentDiff, MAX_DIFF_BYTES } from './diff.js';
import { sha256File } from './hash.js';
import { formatMode } from './mode.js';

/** What the controller sends once it prepared a copy or template task. */
export interface PreparedContent extends AttrParams {
  dest: string;
  sha256: string;
  size: number;
  /** false: only create a missing file, never replace one that differs. */
  force?: boolean;
  /** File name to use when dest is a directory (the source's base name). */
  name?: string;
  /** Where the content came from, for messages: `templates/app.conf.hbs`, `inline content`. */
  origin?: string;
}

const READ_NOFOLLOW = constants.O_RDONLY | constants.O_NOFOLLOW;
const statOrNull = (p: string): Promise<Stats | null> => lstat(p).catch(() => null);

export async function planContentFile(module: string, p: PreparedContent, ctx: ModuleContext): Promise<PlanResult> {
  if (typeof p.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(p.sha256)) {
    return failed(`${module}.unprepared`, `${module}: the controller did not prepare this task (no content hash); src/content must be resolved on the controller`);
  }
  let dest = p.dest;
  let st = await statOrNull(dest);
  // A directory, or a symlink to one, receives the file inside it.
  if (dest.endsWith('/') || (await stat(dest).catch(() => null))?.isDirectory()) {
    if (!p.name) return failed(`${module}.dest-is-directory`, `${dest} is a directory; give the file's full path as dest`);
    dest = join(dest, p.name);
    st = await statOrNull(dest);
  }
  if (st && !st.isFile() && !st.isSymbolicLink()) return failed(`${module}.dest-not-file`, `${dest} exists and is not a regular file`);

  const attrs = await resolveAttrs(p, ctx.check);
  if (!attrs.ok) return attrs;
  const a = attrs.attrs;
  const data = { dest, sha256: p.sha256, size: p.size };

  // A symlink at dest is replaced by the file, as Ansible's copy does (follow: no).
  const regular = st?.isFile() ? st : null;
  // Read without following a link someone put there since the lstat: root would read its target.
  const same = regular !== null && regular.size === p.size && (await sha256File(dest, READ_NOFOLLOW).catch(() => '')) === p.sha256;
  if (same || (regular && p.force === false)) {
    return { ok: true, changes: await attrChanges(dest, regular, a), data };
  }

  if (!st) {
    const parent = await statOrNull(dirname(dest));
    if (!parent?.isDirectory() && !ctx.check) {
      return failed(`${module}.no-directory`, `cannot create ${dest}: directory ${dirname(dest)} does not exist`, 'create it first with a `file` task (state: directory)');
    }
  }
  // Keep what the existing file has for anything the task does not set: a rename would
  // otherwise leave the file owned by the agent's user with the temp file's mode.
  const mode = regular ? (a.mode ? a.mode(regular.mode & 0o7777, false) : regular.mode & 0o7777) : newMode(a, false);
  const uid = a.uid ?? regular?.uid;
  const gid = a.gid ?? regular?.gid;
  const change: Change = {
    summary: `${st ? 'update' : 'create'} ${dest}${p.origin ? ` from ${p.origin}` : ''} (${p.size} bytes, mode ${formatMode(mode)})`,
    cause: !st ? 'missing' : regular ? 'content differs' : 'a symlink is in the way',
    apply: async () => {
      const blob = await ctx.blob(p.sha256);
      if (!blob.ok) return blob;
      const w = await writeAtomic(dest, { file: blob.path }, { mode, uid, gid, replaceLink: st?.isSymbolicLink() });
      return w.ok ? { ok: true, data } : w;
    },
  };
  if (ctx.diff) change.diff = await diffFor(dest, regular, p, ctx);
  // Only in check mode: an earlier task of the plan would create the account.
  for (const [what, name] of [['owner', a.pendingOwner], ['group', a.pendingGroup]] as const) {
    if (name) change.cause += `; ${what} "${name}" does not exist yet`;
  }
  return { ok: true, changes: [change], data };
}

async function diffFor(dest: string, regular: Stats | null, p: PreparedContent, ctx: ModuleContext): Promise<string> {
  // Fetching content only to show a diff is worth it for text-sized files, not for images.
  if ((regular?.size ?? 0) > MAX_DIFF_BYTES || p.size > MAX_DIFF_BYTES) {
    return `${dest}: large file, diff not shown (${regular ? `${regular.size} bytes` : 'absent'} -> ${p.size} bytes)\n`;
  }
  const blob = await ctx.blob(p.sha256);
  if (!blob.ok) return `${dest}: new content unavailable for the diff (${blob.error.message})\n`;
  const before = regular ? await readFile(dest, { flag: READ_NOFOLLOW }).catch(() => Buffer.from('')) : null;
  return contentDiff(dest, before, await readFile(blob.path));
}
