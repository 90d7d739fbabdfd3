// Unified diffs of text files for `--diff`, computed on the host (the old content lives there).
// Myers' O(ND) algorithm over lines: fast for the usual few-line edit of a config file.

type Op = { kind: ' ' | '-' | '+'; line: string };

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

function diffLines(a: string[], b: string[]): Op[] {
  const n = a.length;
  const m = b.length;
  const max = n + m;
  const v = new Int32Array(2 * max + 2);
  const trace: Int32Array[] = [];
  let found = false;
  for (let d = 0; d <= max && !found; d++) {
    trace.push(v.slice());
    for (let k = -d; k <= d; k += 2) {
      let x = k === -d || (k !== d && v[max + k - 1] < v[max + k + 1]) ? v[max + k + 1] : v[max + k - 1] + 1;
      let y = x - k;
      while (x < n && y < m && a[x] === b[y]) {
        x++;
        y++;
      }
      v[max + k] = x;
      if (x >= n && y >= m) {
        found = true;
        break;
      }
    }
  }
  // Walk the trace back from the end to recover the edit script.
  const ops: Op[] = [];
  let x = n;
  let y = m;
  for (let d = trace.length - 1; d >= 0; d--) {
    const vd = trace[d];
    const k = x - y;
    const prevK = k === -d || (k !== d && vd[max + k - 1] < vd[max + k + 1]) ? k + 1 : k - 1;
    const prevX = d === 0 ? 0 : vd[max + prevK];
    const prevY = prevX - prevK;
    while (x > prevX && y > prevY) {
      y--;
      ops.push({ kind: ' ', line: a[--x] });
    }
    if (d > 0) {
      if (x === prevX) ops.push({ kind: '+', line: b[--y] });
      else ops.push({ kind: '-', line: a[--x] });
    }
  }
  return ops.reverse();
}
