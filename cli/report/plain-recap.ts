// The end of a plain run as lines: the plan (check mode) and the recap with the slowest tasks.
import { changeMark, diffLine, ms } from './format.js';
import { releaseLines, type RunModel } from './model.js';
import { planGroups, planSummary, planSummaryLine, recapRows, recapTotal, slowestTasks } from './summary.js';

/** Wraps text in an SGR code, or leaves it alone when colours are off. */
export type Paint = (code: number, s: string) => string;

const COLUMNS = ['ok', 'changed', 'failed', 'unreachable', 'skipped'] as const;
const DIFF_COLOUR = { head: 1, hunk: 36, add: 32, del: 31, same: 0 } as const;

export function recapLines(m: RunModel, paint: Paint): string[] {
  const rows = recapRows(m);
  const totalLabel = `${rows.length} hosts`;
  const w = Math.max(8, totalLabel.length + 1, ...rows.map((r) => r.host.length + 1));
  const cell = (k: (typeof COLUMNS)[number], v: number | string) => String(v).padStart(Math.max(7, k.length));
  const fmt = (host: string, cells: string[], time: string) => `  ${host.padEnd(w)} ${cells.join(' ')}  ${time}`;
  const out = ['', paint(1, 'RECAP'), fmt('host', COLUMNS.map((k) => cell(k, k)), 'time')];
  for (const r of rows) {
    const line = fmt(r.host, COLUMNS.map((k) => cell(k, r[k])), r.unreachable ? '-' : ms(r.durationMs));
    out.push(r.failed || r.unreachable ? paint(31, line) : line);
  }
  if (rows.length > 1) {
    const t = recapTotal(rows);
    out.push(fmt(totalLabel, COLUMNS.map((k) => cell(k, t[k])), ''));
  }
  const releases = releaseLines(m);
  if (releases.length) {
    out.push('', paint(1, 'RELEASES'));
    for (const l of releases) out.push(`  ${l}`);
  }
  const slow = slowestTasks(m, 5);
  if (slow.length) {
    out.push('', paint(1, 'SLOWEST TASKS'));
    const tw = Math.max(...slow.map((t) => ms(t.durationMs).length));
    const hw = Math.max(...slow.map((t) => t.host.length));
    for (const t of slow) out.push(`  ${ms(t.durationMs).padStart(tw)}  ${t.host.padEnd(hw)}  ${t.name}`);
  }
  return out.map((l) => l.trimEnd());
}

export function planLines(m: RunModel, paint: Paint): string[] {
  const out = ['', paint(1, 'PLAN') + ' (check mode: nothing was changed)'];
  for (const g of planGroups(m)) {
    const who = g.hosts.join(', ');
    const changing = g.tasks.filter((t) => t.status === 'changed').length;
    const failing = g.tasks.length - changing;
    const what = [changing ? `${changing} to change` : '', failing ? `${failing} failed` : ''].filter(Boolean).join(', ') || 'nothing to change';
    out.push(`${who}: ${what}`);
    for (const t of g.tasks) {
      if (t.status === 'failed') {
        out.push(`  ${paint(31, '!')} ${t.name}: ${paint(31, (t.message ?? 'failed').split('\n')[0]!)}`);
        continue;
      }
      if (!t.changes.length) out.push(`  ${paint(33, '~')} ${t.name}`);
      for (const c of t.changes) {
        const mark = changeMark(c);
        out.push(`  ${paint(mark === '+' ? 32 : mark === '-' ? 31 : 33, mark)} ${t.name}: ${c.summary}${c.cause ? paint(2, `  (${c.cause})`) : ''}`);
        if (c.diff) for (const l of c.diff.replace(/\n$/, '').split('\n')) out.push(`      ${DIFF_COLOUR[diffLine(l)] ? paint(DIFF_COLOUR[diffLine(l)], l) : l}`);
      }
    }
  }
  out.push(paint(1, planSummaryLine(planSummary(m))));
  return out;
}
