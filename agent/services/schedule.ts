// A scheduled job's timer, from the converge's side: the schedule file the watcher runs it by
// (written, rewritten when the schedule or the prepared container changes, removed when the
// service no longer has a schedule), and the watcher itself, started if it does not run.
// A bad expression fails the converge before any container is made for it.
import type { Change, ModuleContext } from '../../modules/contract.js';
import type { ServiceSpec } from '../../modules/service-spec.js';
import type { WireError } from '../../protocol/agent-protocol.js';
import type Docker from 'dockerode';
import { parseSchedule } from '../../lang/cron.js';
import { ensureWatcher, watcherPlan } from '../watcher/ensure.js';
import { liveWatcher } from '../watcher/pidfile.js';
import { readSchedule, removeSchedule, writeSchedule, type ScheduleFile } from '../watcher/schedule-files.js';
import { observe } from './observe.js';

/**
 * `before` the container operations: removing a timer (it must not start a container that is
 * being replaced or run by apply); `after` them: writing one (it names the ids they made).
 */
export type ScheduleChanges = { ok: true; before: Change[]; after: Change[] } | { ok: false; error: WireError };

/**
 * The changes that keep the service's schedule file in line with its spec. `containers` are the
 * names of the service's own containers; `replaced` says the converge creates or replaces some
 * of them (their ids change, so the file is written again).
 */
export function scheduleChanges(spec: ServiceSpec, containers: string[], replaced: boolean, d: Docker, ctx: Pick<ModuleContext, 'facts'>): ScheduleChanges {
  const have = readSchedule(spec.playbook, spec.service);
  if (spec.schedule === undefined) {
    if (!have) return { ok: true, before: [], after: [] };
    const apply = async () => {
      unschedule(spec.playbook, spec.service);
      return { ok: true as const };
    };
    return { ok: true, before: [{ summary: `unschedule ${spec.service}`, cause: 'no schedule: in the playbook any more', apply }], after: [] };
  }
  const parsed = parseSchedule(spec.schedule);
  if (!parsed.ok) return { ok: false, error: { code: 'services.schedule', message: `service ${spec.service}: schedule ${parsed.error.message}` } };
  const want = { schedule: spec.schedule, names: containers, timeoutMs: spec.jobTimeoutMs };
  const had = have && { schedule: have.schedule, names: have.containers.map((c) => c.name), timeoutMs: have.timeoutMs };
  const same = JSON.stringify(want) === JSON.stringify(had);
  const watcher = watcherPlan().action;
  if (same && !replaced && watcher === 'running') return { ok: true, before: [], after: [] };
  const cause = !have ? 'not scheduled yet' : !same ? 'schedule changed' : replaced ? 'its container is new' : watcher === 'started' ? 'the watcher does not run' : 'berth was upgraded';
  return {
    ok: true,
    before: [],
    after: [
      {
        summary: `schedule ${spec.service} (${spec.schedule})`,
        cause,
        apply: async () => {
          // After the container operations: the ids are the ones they made.
          const ids = new Map((await observe(d, spec.playbook, spec.service)).filter((o) => !o.oneoff && o.role === '').map((o) => [o.name, o.id]));
          const file: ScheduleFile = {
            playbook: spec.playbook,
            service: spec.service,
            schedule: spec.schedule!,
            containers: containers.map((name) => ({ name, ...(ids.has(name) ? { id: ids.get(name) } : {}) })),
            ...(spec.jobTimeoutMs !== undefined ? { timeoutMs: spec.jobTimeoutMs } : {}),
            writtenAt: new Date().toISOString(),
          };
          writeSchedule(file);
          const w = await ensureWatcher(ctx.facts);
          return w.ok ? { ok: true, data: { watcher: w.value } } : w;
        },
      },
    ],
  };
}

/** Removes a schedule and tells a running watcher at once (it would find out at its next rescan anyway). */
export function unschedule(playbook: string, service: string): void {
  removeSchedule(playbook, service);
  const w = liveWatcher();
  if (w) {
    try {
      process.kill(w.pid, 'SIGHUP');
    } catch {
      // Gone meanwhile: nothing to tell.
    }
  }
}
