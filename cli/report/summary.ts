// Derived views of a run model: the recap table, the slowest tasks, the plan grouped by host
// and its summary line, and the grouping of live rows. Pure functions: both reporters and the
// tests call them.
import type { HostRecap } from '../../controller/run/events.js';
import type { HostRow, PlannedTask, RunModel, TaskTiming } from './model.js';

export interface RecapRow extends Omit<HostRecap, 'unreachable'> {
  host: string;
  unreachable: number;
}

export function recapRows(m: RunModel): RecapRow[] {
  const src = m.recap ?? {};
  return Object.entries(src).map(([host, r]) => ({ host, ok: r.ok, changed: r.changed, failed: r.failed, unreachable: r.unreachable ? 1 : 0, skipped: r.skipped, durationMs: r.durationMs }));
}

export function recapTotal(rows: RecapRow[]): RecapRow {
  const t: RecapRow = { host: 'total', ok: 0, changed: 0, failed: 0, unreachable: 0, skipped: 0, durationMs: 0 };
  for (const r of rows) {
    for (const k of ['ok', 'changed', 'failed', 'unreachable', 'skipped'] as const) t[k] += r[k];
    t.durationMs = Math.max(t.durationMs, r.durationMs);
  }
  return t;
}

/** Tasks that took longest, anywhere: where a run's time went. Skipped tasks took none. */
export function slowestTasks(m: RunModel, n = 5): TaskTiming[] {
  return m.timings
    .filter((t) => t.status !== 'skipped')
    .slice()
    .sort((a, b) => b.durationMs - a.durationMs)
    .slice(0, n);
}

export interface PlanGroup {
  /** Hosts whose plans are the same: shown once, which keeps a fleet's plan short. */
  hosts: string[];
  /** Tasks that would change something or failed, in order. */
  tasks: PlannedTask[];
}

export function planGroups(m: RunModel): PlanGroup[] {
  const byKey = new Map<string, PlanGroup>();
  for (const host of m.hosts.keys()) {
    const state = m.hosts.get(host)!.state;
    if (state === 'unreachable') continue;
    const tasks = (m.planned.get(host) ?? []).filter((t) => t.status === 'changed' || t.status === 'failed');
    const key = JSON.stringify(tasks);
    const g = byKey.get(key);
    if (g) g.hosts.push(host);
    else byKey.set(key, { hosts: [host], tasks });
  }
  return [...byKey.values()];
}

export interface PlanSummary {
  toChange: number;
  ok: number;
  failed: number;
  hosts: number;
  unreachable: number;
}

export function planSummary(m: RunModel): PlanSummary {
  const s: PlanSummary = { toChange: 0, ok: 0, failed: 0, hosts: 0, unreachable: 0 };
  for (const r of m.hosts.values()) {
    if (r.state === 'unreachable') s.unreachable += 1;
    else s.hosts += 1;
  }
  for (const list of m.planned.values()) {
    for (const t of list) {
      if (t.status === 'changed') s.toChange += 1;
      else if (t.status === 'ok') s.ok += 1;
      else if (t.status === 'failed') s.failed += 1;
    }
  }
  return s;
}

/** `3 to change, 4 ok on 2 hosts` (+ failed / unreachable when there are any). */
export function planSummaryLine(s: PlanSummary): string {
  const extra = [s.failed ? `${s.failed} failed` : '', s.unreachable ? `${s.unreachable} unreachable` : ''].filter(Boolean);
  return `${s.toChange} to change, ${s.ok} ok on ${s.hosts} host${s.hosts === 1 ? '' : 's'}${extra.length ? `; ${extra.join(', ')}` : ''}`;
}

/** What a live row is doing, coarsely: the grouped view counts hosts per state. */
export type RowGroup = 'running' | 'waiting' | 'done' | 'failed' | 'unreachable';

export function groupOf(r: HostRow): RowGroup {
  switch (r.state) {
    case 'running':
    case 'connecting':
      return 'running';
    case 'waiting':
    case 'ready':
      return 'waiting';
    case 'idle':
      return r.endedAt === undefined ? 'waiting' : 'done';
    default:
      return r.state;
  }
}

export interface Section {
  /** `batch 2`, when rollouts report batches; absent for an ordinary play. */
  title?: string;
  rows: HostRow[];
  /** More rows than fit: the view shows counts per state instead of one row per host. */
  grouped: boolean;
}

/**
 * Rows to show, in sections: one per rollout batch when hosts have one, else one. A section with
 * more than `max` hosts is shown grouped by state, so 200 hosts stay readable.
 */
export function sections(rows: HostRow[], max = 20): Section[] {
  const batches = new Map<string | undefined, HostRow[]>();
  for (const r of rows) {
    const list = batches.get(r.batch) ?? [];
    list.push(r);
    batches.set(r.batch, list);
  }
  return [...batches.entries()].map(([title, list]) => ({ title, rows: list, grouped: list.length > max }));
}

export interface StateCount {
  group: RowGroup;
  hosts: string[];
}

export function countByState(rows: HostRow[]): StateCount[] {
  const order: RowGroup[] = ['running', 'waiting', 'done', 'failed', 'unreachable'];
  const by = new Map<RowGroup, string[]>(order.map((g) => [g, []]));
  for (const r of rows) by.get(groupOf(r))!.push(r.name);
  return order.map((group) => ({ group, hosts: by.get(group)! })).filter((c) => c.hosts.length > 0);
}

/** The tasks running now, most hosts first: `command: sleep 2 (120)`. */
export function runningTasks(rows: HostRow[], n = 3): Array<{ name: string; hosts: number }> {
  const by = new Map<string, number>();
  for (const r of rows) if (r.task) by.set(r.task.name, (by.get(r.task.name) ?? 0) + 1);
  return [...by.entries()].sort((a, b) => b[1] - a[1]).slice(0, n).map(([name, hosts]) => ({ name, hosts }));
}
