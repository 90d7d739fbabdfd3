// What the operator is shown, as plain data: the run's events folded into one row per host,
// the task timings and the plan. The live view and the plain reporter both read this, so the
// two cannot disagree about what happened; neither the controller nor this file knows ink.
import type { BerthError } from '../../controller/errors.js';
import type { HostRecap, RunEvent } from '../../controller/run/events.js';
import type { ChangeReport, TaskStatus } from '../../protocol/agent-protocol.js';

/**
 * Progress of a long task step (an upload, an image transfer, a build). The agent already sends
 * these; the view shows them as bars as soon as the controller forwards them as run events.
 */
export interface ProgressEvent {
  type: 'progress';
  host: string;
  task: number;
  label: string;
  done: number;
  total?: number;
}

export type ViewEvent = RunEvent | ProgressEvent;

export type HostState = 'waiting' | 'connecting' | 'ready' | 'running' | 'idle' | 'failed' | 'unreachable';

export interface Counts {
  ok: number;
  changed: number;
  failed: number;
  skipped: number;
}

export interface Progress {
  label: string;
  done: number;
  total?: number;
}

export interface CurrentTask {
  index: number;
  name: string;
  module: string;
  handler: boolean;
  startedAt: number;
  progress: Progress[];
}

export interface Failure {
  /** The task that failed, when a task did (not the connection or the agent). */
  task?: string;
  message: string;
  hint?: string;
  /** The last lines the task printed: usually the reason. */
  output: string[];
}

export interface HostRow {
  name: string;
  state: HostState;
  /**
   * The rollout batch the host is in. Rollouts will set it; the view then groups rows by batch
   * (see groupRows) instead of listing hosts.
   */
  batch?: string;
  /** When the host's current play (or its connection) began. */
  since: number;
  /** When its last task ended: a host that finished shows how long its play took. */
  endedAt?: number;
  task?: CurrentTask;
  /** This play's tasks, for the collapsed line of a host that finished. */
  play: Counts;
  /** Lines printed by the task running now, last few only. */
  output: string[];
  failure?: Failure;
  ready?: { connectMs: number; agentMs: number; uploadedBytes: number; pushed: { agent: boolean; node: boolean } };
}

export interface TaskTiming {
  host: string;
  name: string;
  module: string;
  status: TaskStatus;
  durationMs: number;
}

export interface PlannedTask {
  name: string;
  module: string;
  status: TaskStatus;
  changes: ChangeReport[];
  message?: string;
}

export interface PlayInfo {
  name: string;
  index: number;
  hosts: string[];
  startedAt: number;
  endedAt?: number;
}

export interface RunModel {
  playbook: string;
  check: boolean;
  startedAt: number;
  hosts: Map<string, HostRow>;
  play?: PlayInfo;
  plays: PlayInfo[];
  timings: TaskTiming[];
  /** Per host, every task in order: the plan view and the summary line read it. */
  planned: Map<string, PlannedTask[]>;
  cancelling?: string;
  /** How a rollout stopped early (halted, paused at its canary), for the person watching. */
  rollout?: string;
  /** service -> host -> the release it is at after this run (service tasks that ended well). */
  releases: Map<string, Map<string, string>>;
  /** `service host` pairs a rollout's automatic revert returned to the release before this run. */
  reverted: Set<string>;
  /** Errors of the run as a whole (a plan that cannot be rendered), not of one host's row. */
  errors: BerthError[];
  recap?: Record<string, HostRecap>;
  end?: { exitCode: number; durationMs: number };
}

/** Output lines kept per host: enough to show why a task failed, bounded at any fleet size. */
export const OUTPUT_LINES = 5;

/** Progress bars kept per task: a host that invents a label per event cannot grow a row without end. */
export const PROGRESS_BARS = 8;

const zero = (): Counts => ({ ok: 0, changed: 0, failed: 0, skipped: 0 });

export function emptyModel(now: number): RunModel {
  return { playbook: '', check: false, startedAt: now, hosts: new Map(), plays: [], timings: [], planned: new Map(), errors: [], releases: new Map(), reverted: new Set() };
}

function row(m: RunModel, name: string, now: number): HostRow {
  let r = m.hosts.get(name);
  if (!r) {
    r = { name, state: 'waiting', since: now, play: zero(), output: [] };
    m.hosts.set(name, r);
  }
  return r;
}

const fromError = (e: BerthError, host: string): Failure => ({
  message: e.where && e.where !== host ? `${e.where}: ${e.message}` : e.message,
  hint: e.hint,
  output: [],
});

/** Folds one event into the model (in place: a fleet's worth of events must stay cheap). */
export function reduce(m: RunModel, e: ViewEvent, now: number): RunModel {
  switch (e.type) {
    case 'run-start':
      m.playbook = e.playbook;
      m.check = e.check;
      m.startedAt = now;
      for (const h of e.hosts) row(m, h, now);
      break;
    case 'host-connecting':
      Object.assign(row(m, e.host, now), { state: 'connecting', since: now });
      break;
    case 'host-ready':
      Object.assign(row(m, e.host, now), { state: 'ready', endedAt: now, ready: { connectMs: e.connectMs, agentMs: e.agentMs, uploadedBytes: e.uploadedBytes, pushed: e.pushed } });
      break;
    case 'host-unreachable':
      Object.assign(row(m, e.host, now), { state: 'unreachable', failure: fromError(e.error, e.host) });
      break;
    case 'play-start':
      m.play = { name: e.play, index: e.index, hosts: e.hosts, startedAt: now };
      for (const h of e.hosts) Object.assign(row(m, h, now), { state: 'idle', batch: undefined, since: now, endedAt: undefined, play: zero(), task: undefined, output: [] });
      break;
    case 'task-start': {
      const r = row(m, e.host, now);
      r.state = 'running';
      r.task = { index: e.task, name: e.name, module: e.module, handler: !!e.handler, startedAt: now, progress: [] };
      r.output = [];
      break;
    }
    case 'progress': {
      const t = m.hosts.get(e.host)?.task;
      if (!t || t.index !== e.task) break;
      const p = t.progress.find((x) => x.label === e.label);
      if (p) Object.assign(p, { done: e.done, total: e.total });
      else if (t.progress.length < PROGRESS_BARS) t.progress.push({ label: e.label, done: e.done, total: e.total });
      break;
    }
    case 'output': {
      const r = row(m, e.host, now);
      r.output.push(e.line);
      if (r.output.length > OUTPUT_LINES) r.output.shift();
      break;
    }
    case 'task-end': {
      const r = row(m, e.host, now);
      r.play[e.status] += 1;
      r.task = undefined;
      r.endedAt = now;
      m.timings.push({ host: e.host, name: e.name, module: e.module, status: e.status, durationMs: e.durationMs });
      if (e.service && e.release && !m.check) {
        const by = m.releases.get(e.service) ?? new Map<string, string>();
        by.set(e.host, e.release);
        m.releases.set(e.service, by);
      }
      const list = m.planned.get(e.host) ?? [];
      list.push({ name: e.name, module: e.module, status: e.status, changes: e.changes, message: e.message });
      m.planned.set(e.host, list);
      if (e.status === 'failed') {
        r.state = 'failed';
        r.failure = { task: e.name, message: e.message ?? `${e.module} failed`, output: r.output };
      } else if (r.state === 'running') {
        r.state = 'idle';
      }
      r.output = [];
      break;
    }
    case 'host-failed':
      // A plan that cannot be rendered (bad input, exit 2) names its host, but it ends the whole
      // run before anything ran: it belongs to the run, not to a row.
      if (m.hosts.has(e.host) && e.error.exit !== 2) Object.assign(row(m, e.host, now), { state: 'failed', task: undefined, failure: fromError(e.error, e.host) });
      else m.errors.push(e.error);
      break;
    case 'play-end':
      if (m.play) m.plays.push({ ...m.play, endedAt: now });
      m.play = undefined;
      break;
    case 'batch-start':
      for (const h of e.hosts) Object.assign(row(m, h, now), { batch: e.canary ? `canary: batch ${e.batch} of ${e.batches}` : `batch ${e.batch} of ${e.batches}`, since: now });
      // The play's other hosts wait their turn, in a section of their own below the batches.
      for (const h of m.play?.hosts ?? []) if (!e.hosts.includes(h) && row(m, h, now).batch === undefined) row(m, h, now).batch = 'waiting for a later batch';
      break;
    case 'rollout-revert-end':
      // Where the revert left each service: the recap says it went back, not only where it is.
      if (!e.ok) break;
      for (const [service, release] of Object.entries(e.releases)) {
        const by = m.releases.get(service) ?? new Map<string, string>();
        by.set(e.host, release);
        m.releases.set(service, by);
        m.reverted.add(`${service} ${e.host}`);
      }
      break;
    case 'rollout-halted':
      m.rollout = `rollout halted: ${e.reason}${e.untouched.length ? ` (not touched: ${e.untouched.join(', ')})` : ''}`;
      break;
    case 'rollout-paused':
      m.rollout = `rollout paused: ${e.reason}`;
      break;
    case 'cancelling':
      m.cancelling = e.reason;
      break;
    case 'recap':
      m.recap = e.hosts;
      break;
    case 'run-end':
      m.end = { exitCode: e.exitCode, durationMs: e.durationMs };
      break;
  }
  return m;
}

const REVERTED = ' (reverted to the release before this run)';

/**
 * `web: cae7cf20b2a8 on h1, h2; 71c4bbc60fc2 on h3 (reverted to the release before this run)`:
 * each service's releases after the run, hosts grouped, those an automatic revert took back said so.
 */
export function releaseLines(m: RunModel): string[] {
  return [...m.releases.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([service, by]) => {
      const groups = new Map<string, { rel: string; reverted: boolean; hosts: string[] }>();
      for (const [host, rel] of by) {
        const reverted = m.reverted.has(`${service} ${host}`);
        const g = groups.get(`${rel} ${reverted}`) ?? { rel, reverted, hosts: [] };
        g.hosts.push(host);
        groups.set(`${rel} ${reverted}`, g);
      }
      return `${service}: ${[...groups.values()].map((g) => `${g.rel} on ${g.hosts.join(', ')}${g.reverted ? REVERTED : ''}`).join('; ')}`;
    });
}
