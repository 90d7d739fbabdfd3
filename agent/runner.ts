// Runs one play's plan on this host: each task's module computes its changes, and unless the
// plan is a check they are applied. Conditions, registered results and deferred templates are
// evaluated here, where the results live. A failed task ends the host's plan (as in Ansible)
// unless it ignores errors; notified handlers run once at the end, only if the plan did not fail.
import type { BerthModule, ModuleContext } from '../modules/contract.js';
import { modules } from './modules.js';
import { masker, secretDiffNote } from '../protocol/mask.js';
import {
  type AgentEvent,
  type ChangeReport,
  type HostFacts,
  type HostPlan,
  type PlannedTask,
  type RunResult,
  type TaskStatus,
} from '../protocol/agent-protocol.js';

// Expressions (jexl), host-side templates (handlebars, yaml) and the services modules are
// imported when a task needs them: every host pays for the agent's start-up on every run,
// and most plans need none of them (bench/README.md, "where berth's time goes").
const expressions = () => import('../lang/expressions.js');

export interface RunControl {
  emit(event: AgentEvent): void;
  /** True once the controller asked to stop: finish the current task, start no other. */
  cancelled(): boolean;
  signal: AbortSignal;
  facts: HostFacts;
  blob: ModuleContext['blob'];
  blobStream?: ModuleContext['blobStream'];
}

type Vars = Record<string, unknown>;

export async function runPlan(plan: HostPlan, ctl: RunControl): Promise<RunResult> {
  const result: RunResult = { ok: 0, changed: 0, failed: 0, skipped: 0, cancelled: false };
  const registered: Vars = {};
  const notified = new Set<string>();
  let hostFailed = false;

  const runList = async (tasks: PlannedTask[], handler: boolean) => {
    for (const task of tasks) {
      if (handler && !notified.has(task.name)) continue;
      if (ctl.cancelled()) {
        result.cancelled = true;
        return;
      }
      const status = await runTask(task, plan, ctl, registered, handler);
      result[status] += 1;
      if (status === 'changed') for (const h of task.notify ?? []) notified.add(h);
      if (status === 'failed' && !task.ignoreErrors) {
        hostFailed = true;
        return;
      }
    }
  };
  await runList(plan.tasks, false);
  if (!hostFailed && !result.cancelled) await runList(plan.handlers, true);
  return result;
}

/** The secret vars this host was sent, by name: the plan's vars whose values are its secrets. */
function secretsByName(plan: HostPlan): Record<string, string> {
  const values = new Set(plan.secrets);
  return Object.fromEntries(Object.entries(plan.vars ?? {}).filter((e): e is [string, string] => typeof e[1] === 'string' && values.has(e[1])));
}

async function runTask(task: PlannedTask, plan: HostPlan, ctl: RunControl, registered: Vars, handler: boolean): Promise<TaskStatus> {
  const t0 = performance.now();
  const mask = masker(plan.secrets);
  // A diff of content made from a secret would show it line by line, masked or not: one line says so instead.
  const shownDiff = (diff: string | undefined) => (diff === undefined ? undefined : task.secretDiff || mask(diff) !== diff ? secretDiffNote(diff) : diff);
  const vars = (): Vars => ({ ...plan.vars, ...registered, ...(task.vars ?? {}) });
  const flag = handler ? { handler } : {};
  ctl.emit({ kind: 'task-start', task: task.index, name: task.name, module: task.module, ...flag });

  const end = (status: TaskStatus, changes: ChangeReport[], message?: string, data?: Vars): TaskStatus => {
    if (task.register) record(registered, task, { changed: status === 'changed', failed: status === 'failed', skipped: status === 'skipped', ...(data ?? {}), ...(message ? { msg: message } : {}) });
    const hidden = task.noLog;
    ctl.emit({
      kind: 'task-end',
      task: task.index,
      status,
      changes: hidden ? changes.map(() => ({ summary: '(hidden by no_log)' })) : changes.map((c) => ({ summary: mask(c.summary), cause: c.cause, diff: shownDiff(c.diff) })),
      message: message === undefined ? undefined : hidden ? '(output hidden by no_log)' : mask(message),
      durationMs: Math.round(performance.now() - t0),
      ...flag,
      ...(typeof data?.release === 'string' && status !== 'failed' && typeof (task.params as { service?: unknown } | undefined)?.service === 'string' ? { service: (task.params as { service: string }).service, release: data.release } : {}),
    });
    return status;
  };

  // berth escalates per host (the agent itself runs through sudo), not per task: a task that
  // needs root on a host whose agent is not root cannot be honoured, and must not half-run.
  if (task.become && ctl.facts.user.uid !== 0) {
    return end('failed', [], `become: this task needs root, but the agent on this host runs as ${ctl.facts.user.name}; set become: true on the host (inventory) so berth runs its agent through sudo`);
  }

  if (task.when !== undefined) {
    const cond = (await expressions()).evaluateCondition(task.when, vars());
    if (!cond.ok) return end('failed', [], `when: ${cond.message}`);
    if (!cond.value) return end('skipped', []);
  }

  let params = task.params;
  if (task.deferred) {
    const { missingVariable, renderDeep } = await import('../lang/templates.js');
    try {
      params = renderDeep(params, vars());
    } catch (e) {
      const missing = missingVariable(e);
      return end('failed', [], missing ? `variable "${missing}" is not defined (not registered by an earlier task on this host)` : `template: ${(e as Error).message}`);
    }
  }

  // Services arrive as tasks of internal modules (agent/services/), planned from `services:`.
  const mod = (modules as Record<string, BerthModule>)[task.module] ?? (await import('./services/modules.js')).serviceModules[task.module];
  if (!mod) return end('failed', [], `this agent has no module "${task.module}"`);
  const settings = task.becomeUser !== undefined || task.environment !== undefined ? await (await import('./task-settings.js')).taskSettings(task, mod, ctl.facts, vars) : { ok: true as const };
  if (!settings.ok) return end('failed', [], settings.message);
  const ctx: ModuleContext = {
    facts: ctl.facts,
    check: plan.check,
    diff: plan.diff,
    env: settings.env,
    runAs: settings.runAs,
    signal: ctl.signal,
    blob: ctl.blob,
    blobStream: ctl.blobStream,
    secrets: secretsByName(plan),
    output: (stream, line) => {
      if (!task.noLog) ctl.emit({ kind: 'output', task: task.index, stream, line: mask(line) });
    },
    progress: (label, done, total) => ctl.emit({ kind: 'progress', task: task.index, label, done, total }),
  };

  let status: TaskStatus;
  let reports: ChangeReport[] = [];
  let message: string | undefined;
  let data: Vars = {};
  try {
    const planned = await mod.plan(params as never, ctx);
    if (!planned.ok) {
      status = 'failed';
      message = withDetail(planned.error.message, planned.error.detail);
    } else {
      data = planned.data ?? {};
      reports = planned.changes.map(({ summary, cause, diff }) => ({ summary, cause, diff: plan.diff ? diff : undefined }));
      status = planned.changes.length === 0 ? 'ok' : 'changed';
      if (status === 'changed' && !plan.check) {
        for (const change of planned.changes) {
          const applied = await change.apply();
          data = { ...data, ...(applied.data ?? {}) };
          if (!applied.ok) {
            status = 'failed';
            message = withDetail(applied.error.message, applied.error.detail);
            break;
          }
        }
      }
    }
  } catch (e) {
    // A module that throws has a bug; report it as such instead of killing the agent.
    const err = e as Error;
    return end('failed', [], `internal error in module ${task.module}: ${err.message}\n${err.stack ?? ''}`);
  }

  // Operators' overrides, evaluated against this task's result (Ansible's changed_when/failed_when).
  const withResult = () => ({ ...vars(), result: { ...data, changed: status === 'changed', failed: status === 'failed' } });
  if (task.failedWhen !== undefined && !plan.check) {
    const { evaluateCondition, conditionText } = await expressions();
    const f = evaluateCondition(task.failedWhen, withResult());
    if (!f.ok) return end('failed', reports, `failed_when: ${f.message}`, data);
    if (f.value && status !== 'failed') {
      status = 'failed';
      message = `failed_when matched (${conditionText(task.failedWhen)})`;
    } else if (!f.value && status === 'failed') {
      status = reports.length ? 'changed' : 'ok';
      message = undefined;
    }
  }
  if (task.changedWhen !== undefined && status !== 'failed') {
    const c = (await expressions()).evaluateCondition(task.changedWhen, withResult());
    if (!c.ok) return end('failed', reports, `changed_when: ${c.message}`, data);
    status = c.value ? 'changed' : 'ok';
  }
  return end(status, reports, message, data);
}

function record(registered: Vars, task: PlannedTask, value: Vars): void {
  const name = task.register!;
  if (!task.registerItem) {
    registered[name] = value;
    return;
  }
  const prev = registered[name] as { results?: Vars[] } | undefined;
  const results = [...(prev?.results ?? []), { ...value, item: task.vars?.[String(task.vars?.__loop_var ?? 'item')] }];
  registered[name] = { results, changed: results.some((r) => r.changed), failed: results.some((r) => r.failed) };
}

const withDetail = (message: string, detail?: string) => (detail ? `${message}\n${detail}` : message);
