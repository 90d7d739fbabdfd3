// Runs one play's plan on this host: each task's module computes its changes, and unless the
// plan is a check they are applied. A failed task ends the host's plan (as in Ansible) unless it
// ignores errors; notified handlers run once at the end, only if the plan did not fail.
import { maskSecrets, type AgentEvent, type ChangeReport, type HostFacts, type HostPlan, type PlannedTask, type RunResult, type TaskStatus } from '../protocol/agent-protocol.js';
import type { BerthModule, ModuleContext } from '../modules/contract.js';
import { modules } from '../modules/registry.js';

export interface RunControl {
  emit(event: AgentEvent): void;
  /** True once the controller asked to stop: finish the current task, start no other. */
  cancelled(): boolean;
  signal: AbortSignal;
  facts: HostFacts;
  blob: ModuleContext['blob'];
}

export async function runPlan(plan: HostPlan, ctl: RunControl): Promise<RunResult> {
  const result: RunResult = { ok: 0, changed: 0, failed: 0, skipped: 0, cancelled: false };
  const notified = new Set<string>();
  let hostFailed = false;
  const count = (s: TaskStatus) => (result[s] += 1);

  for (const task of plan.tasks) {
    if (ctl.cancelled()) {
      result.cancelled = true;
      break;
    }
    const status = await runTask(task, plan, ctl, false);
    count(status);
    if (status === 'changed') for (const h of task.notify ?? []) notified.add(h);
    if (status === 'failed' && !task.ignoreErrors) {
      hostFailed = true;
      break;
    }
  }
  if (!hostFailed && !result.cancelled) {
    for (const handler of plan.handlers) {
      if (!notified.has(handler.name)) continue;
      if (ctl.cancelled()) {
        result.cancelled = true;
        break;
      }
      const status = await runTask(handler, plan, ctl, true);
      count(status);
      if (status === 'failed' && !handler.ignoreErrors) break;
    }
  }
  return result;
}

async function runTask(task: PlannedTask, plan: HostPlan, ctl: RunControl, handler: boolean): Promise<TaskStatus> {
  const t0 = performance.now();
  const mask = (s: string) => maskSecrets(s, task.secrets);
  ctl.emit({ kind: 'task-start', task: task.index, name: task.name, module: task.module, ...(handler ? { handler } : {}) });
  const end = (status: TaskStatus, changes: ChangeReport[], message?: string): TaskStatus => {
    ctl.emit({
      kind: 'task-end',
      task: task.index,
      status,
      changes: changes.map((c) => ({ summary: mask(c.summary), cause: c.cause, diff: c.diff === undefined ? undefined : mask(c.diff) })),
      message: message === undefined ? undefined : mask(message),
      durationMs: Math.round(performance.now() - t0),
      ...(handler ? { handler } : {}),
    });
    return status;
  };

  const mod = (modules as Record<string, BerthModule>)[task.module];
  if (!mod) return end('failed', [], `this agent has no module "${task.module}"`);
  const ctx: ModuleContext = {
    facts: ctl.facts,
    check: plan.check,
    diff: plan.diff,
    signal: ctl.signal,
    blob: ctl.blob,
    output: (stream, line) => ctl.emit({ kind: 'output', task: task.index, stream, line: mask(line) }),
    progress: (label, done, total) => ctl.emit({ kind: 'progress', task: task.index, label, done, total }),
  };
  try {
    const planned = await mod.plan(task.params as never, ctx);
    if (!planned.ok) return end('failed', [], withDetail(planned.error.message, planned.error.detail));
    const reports = planned.changes.map(({ summary, cause, diff }) => ({ summary, cause, diff: plan.diff ? diff : undefined }));
    if (planned.changes.length === 0) return end('ok', []);
    if (plan.check) return end('changed', reports);
    for (const change of planned.changes) {
      const applied = await change.apply();
      if (!applied.ok) return end('failed', reports, withDetail(applied.error.message, applied.error.detail));
    }
    return end('changed', reports);
  } catch (e) {
    // A module that throws has a bug; report it as such instead of killing the agent.
    const err = e as Error;
    return end('failed', [], `internal error in module ${task.module}: ${err.message}\n${err.stack ?? ''}`);
  }
}

const withDetail = (message: string, detail?: string) => (detail ? `${message}\n${detail}` : message);
