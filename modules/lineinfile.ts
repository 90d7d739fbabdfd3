// `lineinfile`: makes sure one line is in a file (replacing the line a regexp finds), or that
// no line matching is. For a whole file, use copy or template instead.
import type { Stats } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { defineModule, failed, type Change } from './contract.js';
import { writeAtomic } from './lib/atomic-write.js';
import { attrChanges, newMode, resolveAttrs } from './lib/attrs.js';
import { unifiedDiff } from './lib/diff.js';
import { resolveTrusted } from './lib/trusted-dir.js';
import { lineinfileSchema, type LineinfileParams } from './params/lineinfile.js';

export { lineinfileSchema, type LineinfileParams };

type Edit = { ok: true; lines: string[] } | { ok: false; code: string; message: string };

export const lineinfile = defineModule({
  name: 'lineinfile',
  schema: lineinfileSchema,
  async plan(p, ctx) {
    const state = p.state ?? 'present';
    if (state === 'present' && p.line === undefined) return failed('lineinfile.needs-line', 'state: present needs line');
    if (state === 'absent' && p.line === undefined && p.regexp === undefined) return failed('lineinfile.needs-line', 'state: absent needs line or regexp');
    if (p.insertafter && p.insertbefore) return failed('lineinfile.both-inserts', 'give insertafter or insertbefore, not both');
    if (p.line?.includes('\n')) return failed('lineinfile.multiline', 'line must be a single line; use copy, template or blockinfile-style content for more');
    const re = compile(p.regexp);
    const after = p.insertafter && p.insertafter !== 'EOF' ? compile(p.insertafter) : undefined;
    const before = p.insertbefore && p.insertbefore !== 'BOF' ? compile(p.insertbefore) : undefined;
    for (const [name, r] of [['regexp', re], ['insertafter', after], ['insertbefore', before]] as const) {
      if (r instanceof Error) return failed('lineinfile.bad-regexp', `${name} is not a valid regular expression: ${r.message}`);
    }

    const resolved = await resolveAttrs(p, ctx.check);
    if (!resolved.ok) return resolved;
    const a = resolved.attrs;

    // Edits go to the file a symlink points to, keeping the link; only a link root could have
    // made is followed (a user's ~/.bashrc -> /etc/shadow is refused, naming the link).
    const real = resolveTrusted(p.path);
    if (!real.ok) return real;
    const path = real.value;
    const st: Stats | null = await stat(path).catch(() => null);
    if (st && !st.isFile()) return failed('lineinfile.not-file', `${p.path} is not a regular file`);
    if (!st) {
      if (state === 'absent') return { ok: true, changes: [] };
      if (!p.create) return failed('lineinfile.missing', `${p.path} does not exist`, 'set create: true to create it');
      if (!(await stat(dirname(path)).catch(() => null))?.isDirectory() && !ctx.check) {
        return failed('lineinfile.no-directory', `cannot create ${p.path}: directory ${dirname(path)} does not exist`);
      }
    }
    const old = st ? await readFile(path, 'utf8') : '';
    const lines = splitLines(old);
    const edit =
      state === 'present'
        ? present(lines, p.line!, re as RegExp | undefined, { after: after as RegExp | undefined, before: before as RegExp | undefined, bof: p.insertbefore === 'BOF', first: !!p.firstmatch, backrefs: !!p.backrefs })
        : absent(lines, p.line, re as RegExp | undefined);
    if (!edit.ok) return failed(edit.code, edit.message);
    const text = edit.lines.length === 0 ? '' : edit.lines.join('\n') + '\n';

    if (st && text === old) return { ok: true, changes: await attrChanges(path, st, a) };
    const mode = st ? (a.mode ? a.mode(st.mode & 0o7777, false) : st.mode & 0o7777) : newMode(a, false);
    const removed = lines.length - edit.lines.length;
    const change: Change = {
      summary: !st ? `create ${p.path} with the line` : state === 'absent' ? `remove ${removed} line${removed === 1 ? '' : 's'} from ${p.path}` : `edit ${p.path}`,
      cause: !st ? 'missing' : state === 'absent' ? 'matching lines present' : 'line absent or different',
      apply: () => writeAtomic(path, { data: text }, { mode, uid: a.uid ?? st?.uid, gid: a.gid ?? st?.gid }),
    };
    if (ctx.diff) change.diff = unifiedDiff(old, text, st ? `${p.path} (before)` : '/dev/null', `${p.path} (after)`);
    return { ok: true, changes: [change] };
  },
});

function compile(source: string | undefined): RegExp | Error | undefined {
  if (source === undefined) return undefined;
  try {
    return new RegExp(source);
  } catch (e) {
    return e as Error;
  }
}

function splitLines(text: string): string[] {
  if (text === '') return [];
  return (text.endsWith('\n') ? text.slice(0, -1) : text).split('\n');
}

function lastIndex(lines: string[], re: RegExp, first: boolean): number {
  if (first) return lines.findIndex((l) => re.test(l));
  for (let i = lines.length - 1; i >= 0; i--) if (re.test(lines[i])) return i;
  return -1;
}

function present(
  lines: string[],
  line: string,
  re: RegExp | undefined,
  o: { after?: RegExp; before?: RegExp; bof: boolean; first: boolean; backrefs: boolean },
): Edit {
  const out = [...lines];
  if (re) {
    const at = lastIndex(lines, re, false);
    if (at >= 0) {
      out[at] = o.backrefs ? expand(lines[at], re, line) : line;
      return { ok: true, lines: out };
    }
    // backrefs: nothing to expand the line from, so nothing to do (as in Ansible).
    if (o.backrefs) return { ok: true, lines: out };
  }
  if (lines.includes(line)) return { ok: true, lines: out };
  if (o.bof) out.unshift(line);
  else if (o.before) {
    const at = lastIndex(lines, o.before, o.first);
    out.splice(at >= 0 ? at : out.length, 0, line);
  } else if (o.after) {
    const at = lastIndex(lines, o.after, o.first);
    out.splice(at >= 0 ? at + 1 : out.length, 0, line);
  } else out.push(line);
  return { ok: true, lines: out };
}

/** `line` with $1.. (and \1..) taken from the regexp's match in `source`. */
function expand(source: string, re: RegExp, line: string): string {
  const m = re.exec(source)!;
  return line.replace(/\$(\d+)|\\(\d+)/g, (_, a: string, b: string) => m[Number(a ?? b)] ?? '');
}

function absent(lines: string[], line: string | undefined, re: RegExp | undefined): Edit {
  return { ok: true, lines: lines.filter((l) => !(re ? re.test(l) : l === line)) };
}
