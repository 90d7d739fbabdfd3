// Unified diffs of text files for `--diff`, computed on the host (the old content lives there).
// Myers' algorithm over lines in its linear-space form (@jest/diff-sequences): memory grows with
// the files, never with the number of changes (the former O(N·D) trace took a 20,000-line
// rewrite past 1.5 GB). Its time is O(N·D): past a budget of comparisons a note says the diff is
// too large, rather than hold the agent for minutes.
import diffSequencesModule from '@jest/diff-sequences';

type Op = { kind: ' ' | '-' | '+'; line: string };

// Its types describe the CommonJS build; the ESM entry (what tsx and the agent bundle load) exports the function itself.
const diffSequences = diffSequencesModule as unknown as typeof diffSequencesModule.default;

/** Line comparisons one diff may make (a fraction of a second); past it, a one-line note. */
export const MAX_DIFF_COMPARISONS = 30_000_000;

/** Above this many bytes, or for binary content, a one-line note replaces the diff. */
export const MAX_DIFF_BYTES = 256 * 1024;

export function isBinary(b: Buffer): boolean {
  const head = b.subarray(0, 8192);
  if (head.includes(0)) return true;
  // Invalid UTF-8 is shown as binary rather than as garbage; `stream` tolerates a character cut
  // at the end of the sample.
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(head, { stream: true });
    return false;
  } catch {
    return true;
  }
}

/**
 * A unified diff between two versions of a file (null = the file does not exist), or a note
 * when one side is binary or too big to show.
 */
export function contentDiff(path: string, before: Buffer | null, after: Buffer | null): string {
  const label = (b: Buffer | null) => (b === null ? 'absent' : `${b.length} bytes`);
  for (const b of [before, after]) {
    if (b && (b.length > MAX_DIFF_BYTES || isBinary(b))) {
      return `${path}: ${b.length > MAX_DIFF_BYTES ? 'large' : 'binary'} file, diff not shown (${label(before)} -> ${label(after)})\n`;
    }
  }
  return unifiedDiff(before?.toString('utf8') ?? '', after?.toString('utf8') ?? '', before === null ? '/dev/null' : `${path} (before)`, after === null ? '/dev/null' : `${path} (after)`);
}

export function unifiedDiff(a: string, b: string, fromLabel: string, toLabel: string, context = 3): string {
  const al = splitLines(a);
  const bl = splitLines(b);
  const ops = diffLines(al.lines, bl.lines);
  if (!ops) return `${fromLabel === '/dev/null' ? toLabel : fromLabel}: diff too large to show (${al.lines.length} -> ${bl.lines.length} lines)\n`.replace(/ \((before|after)\):/, ':');
  if (ops.every((o) => o.kind === ' ')) return '';
  const out = [`--- ${fromLabel}`, `+++ ${toLabel}`];
  // Group ops into hunks separated by more than 2*context unchanged lines.
  let i = 0;
  let aLine = 1;
  let bLine = 1;
  const pos: Array<{ a: number; b: number }> = ops.map((o) => {
    const p = { a: aLine, b: bLine };
    if (o.kind !== '+') aLine++;
    if (o.kind !== '-') bLine++;
    return p;
  });
  while (i < ops.length) {
    while (i < ops.length && ops[i].kind === ' ') i++;
    if (i >= ops.length) break;
    const start = Math.max(0, i - context);
    let end = i;
    let lastChange = i;
    while (end < ops.length) {
      if (ops[end].kind !== ' ') lastChange = end;
      else if (end - lastChange > 2 * context) break;
      end++;
    }
    const stop = Math.min(ops.length, lastChange + context + 1);
    const hunk = ops.slice(start, stop);
    const aCount = hunk.filter((o) => o.kind !== '+').length;
    const bCount = hunk.filter((o) => o.kind !== '-').length;
    const aStart = aCount === 0 ? pos[start].a - 1 : pos[start].a;
    const bStart = bCount === 0 ? pos[start].b - 1 : pos[start].b;
    out.push(`@@ -${aStart},${aCount} +${bStart},${bCount} @@`);
    for (const o of hunk) {
      if (!o.line.endsWith(NO_EOL)) out.push(o.kind + o.line);
      else out.push(o.kind + o.line.slice(0, -1), '\\ No newline at end of file');
    }
    i = stop;
  }
  return out.join('\n') + '\n';
}

/** Ends a last line that has no newline, so that adding one shows up as a change. */
const NO_EOL = '\u0000';

function splitLines(s: string): { lines: string[] } {
  if (s === '') return { lines: [] };
  const finalNewline = s.endsWith('\n');
  const lines = (finalNewline ? s.slice(0, -1) : s).split('\n');
  if (!finalNewline) lines[lines.length - 1] += NO_EOL;
  return { lines };
}

const TOO_LARGE = Symbol('diff too large');

/** The edit script from a to b (a shortest one), or undefined past MAX_DIFF_COMPARISONS. */
function diffLines(a: string[], b: string[]): Op[] | undefined {
  // A line found on one side only is in no common subsequence: leaving such lines out first keeps
  // the result a shortest diff, and makes the usual big rewrite (every line new) instant.
  const inA = new Set(a);
  const inB = new Set(b);
  const ai = a.flatMap((l, i) => (inB.has(l) ? [i] : []));
  const bi = b.flatMap((l, i) => (inA.has(l) ? [i] : []));
  const matchA: number[] = [];
  const matchB: number[] = [];
  let budget = MAX_DIFF_COMPARISONS;
  try {
    diffSequences(
      ai.length,
      bi.length,
      (x, y) => {
        if (--budget < 0) throw TOO_LARGE;
        return a[ai[x]] === b[bi[y]];
      },
      (n, x, y) => {
        for (let k = 0; k < n; k++) matchA.push(ai[x + k]), matchB.push(bi[y + k]);
      },
    );
  } catch (e) {
    if (e === TOO_LARGE) return undefined;
    throw e;
  }
  // Between two common lines: what a had is deleted, then what b has is added.
  const ops: Op[] = [];
  let x = 0;
  let y = 0;
  for (let m = 0; m <= matchA.length; m++) {
    const toA = m < matchA.length ? matchA[m] : a.length;
    const toB = m < matchB.length ? matchB[m] : b.length;
    while (x < toA) ops.push({ kind: '-', line: a[x++] });
    while (y < toB) ops.push({ kind: '+', line: b[y++] });
    if (m < matchA.length) {
      ops.push({ kind: ' ', line: a[x++] });
      y++;
    }
  }
  return ops;
}
