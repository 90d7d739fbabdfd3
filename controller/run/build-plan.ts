// Renders one host's plan for one play: vars merged by precedence, templates rendered, loops
// expanded, tags applied, controller-side inputs (files, templates) turned into content hashes.
// The result is sent to the agent whole, in one message.
import { dirname } from 'node:path';
import type { Condition } from '../../lang/expressions.js';
import type { HostFacts, HostPlan, PlannedTask } from '../../protocol/agent-protocol.js';
import type { BlobRegistry } from '../blobs.js';
import { err, ok, type BerthError, type Result } from '../errors.js';
import type { ResolvedHost, ResolvedInventory } from '../inventory/resolve.js';
import { prepares } from '../prepare/registry.js';
import { checkSourcePaths, taskSourceKeys } from '../prepare/source-paths.js';
import { planServices } from '../services/plan-services.js';
import { taskModule, taskName, type PlaybookShape, type TaskShape } from './playbook-shape.js';
import { renderValue, templateContext, type RenderScope } from './render.js';
import { selectedByTags, type TagFilter } from './tags.js';
import { taskSettings } from './task-settings.js';

type Vars = Record<string, unknown>;

export interface PlanInput {
  playbookPath: string;
  playbook: PlaybookShape;
  where: (path: Array<string | number>) => string;
  inventory: ResolvedInventory;
  extraVars: Vars;
  secrets: string[];
  secretVars: Vars;
  tags: TagFilter;
  check: boolean;
  diff: boolean;
}

export function buildPlan(o: PlanInput, playIndex: number, host: ResolvedHost, facts: HostFacts, blobs: BlobRegistry): Result<HostPlan> {
  const play = o.playbook.plays[playIndex];
  const groups = Object.fromEntries(o.inventory.groups);
  // Precedence, lowest first (documented in the README): inventory (all < groups < host) <
  // playbook vars < secrets < play vars < task vars < loop item < -e extra vars.
  const base: Vars = { ...host.vars, ...(o.playbook.vars ?? {}), ...o.secretVars, ...(play.vars ?? {}) };
  const registered = new Set([...(play.tasks ?? []), ...(play.handlers ?? [])].flatMap((t) => (typeof t.register === 'string' ? [t.register] : [])));
  let next = 0;

  const planList = (list: TaskShape[] | undefined, key: 'tasks' | 'handlers'): Result<PlannedTask[]> => {
    const out: PlannedTask[] = [];
    for (const [i, task] of (list ?? []).entries()) {
      if (key === 'tasks' && !selectedByTags([...tagList(play.tags), ...tagList(task.tags)], o.tags)) continue;
      const module = taskModule(task);
      const where = o.where(['plays', playIndex, key, i]);
      const taskVars = { ...(task.vars ?? {}) };
      const scopeFor = (extra: Vars): RenderScope => ({ vars: { ...base, ...taskVars, ...extra, ...o.extraVars }, facts, host: host.name, groups, hostGroups: host.groups });

      const items = loopItems(task, scopeFor({}), where);
      if (!items.ok) return items;
      const loopVar = typeof task.loop_var === 'string' ? task.loop_var : 'item';
      for (const item of items.value ?? [undefined]) {
        const extra = items.value ? { [loopVar]: item } : {};
        const scope = scopeFor(extra);
        const rendered = renderValue(task[module], scope, where, registered);
        if (!rendered.ok) return rendered;
        const prepare = prepares[module];
        let params = rendered.value.value;
        if (prepare && !rendered.value.deferred) {
          const sources = checkSourcePaths(taskSourceKeys[module] ?? [], task[module], params, dirname(o.playbookPath), (k) => o.where(['plays', playIndex, key, i, module, ...k]));
          if (!sources.ok) return sources;
          const p = prepare(params, { blobs, baseDir: dirname(o.playbookPath), scope: { ...scope, facts }, where });
          if (!p.ok) return p;
          params = p.value;
        }
        const settings = taskSettings(play, task, scope, where, registered);
        if (!settings.ok) return settings;
        const title = renderValue(taskName(task, module), scope, where, registered);
        const name = (title.ok && !title.value.deferred ? String(title.value.value) : taskName(task, module)) + (items.value ? ` (${loopVar}=${brief(item)})` : '');
        out.push({
          index: next++,
          name,
          module,
          params,
          deferred: rendered.value.deferred || undefined,
          ignoreErrors: task.ignore_errors === true || undefined,
          notify: task.notify === undefined ? undefined : Array.isArray(task.notify) ? task.notify : [task.notify],
          when: condition(task.when),
          register: typeof task.register === 'string' ? task.register : undefined,
          registerItem: items.value && task.register ? true : undefined,
          changedWhen: condition(task.changed_when),
          failedWhen: condition(task.failed_when),
          noLog: task.no_log === true || undefined,
          become: (task.become ?? play.become) === true || undefined,
          ...settings.value,
          vars: Object.keys(taskVars).length || items.value ? { ...taskVars, ...extra, ...(items.value ? { __loop_var: loopVar } : {}), ...o.extraVars } : undefined,
        });
      }
    }
    return ok(out);
  };

  const tasks = planList(play.tasks, 'tasks');
  if (!tasks.ok) return tasks;
  const handlers = planList(play.handlers, 'handlers');
  if (!handlers.ok) return handlers;
  const scope: RenderScope = { vars: { ...base, ...o.extraVars }, facts, host: host.name, groups, hostGroups: host.groups };
  // The play's services run after its tasks; services notified by a task get a handler.
  const services = planServices(o, playIndex, host, scope, () => next++, blobs);
  if (!services.ok) return services;
  const vars = templateContext(scope);
  return ok({ host: host.name, check: o.check, diff: o.diff, tasks: [...tasks.value, ...services.value.tasks], handlers: [...handlers.value, ...services.value.handlers], vars, secrets: o.secrets });
}

/** The items of a task's loop: a list, or a template that renders to one (e.g. "{{packages}}"). */
function loopItems(task: TaskShape, scope: RenderScope, where: string): Result<unknown[] | undefined> {
  if (task.loop === undefined) return ok(undefined);
  if (Array.isArray(task.loop)) {
    const r = renderValue(task.loop, scope, where);
    return r.ok ? ok(r.value.value as unknown[]) : r;
  }
  if (typeof task.loop === 'string') {
    const m = /^\s*\{\{\s*([\w.]+)\s*\}\}\s*$/.exec(task.loop);
    const value = m ? m[1].split('.').reduce<unknown>((v, k) => (v && typeof v === 'object' ? (v as Vars)[k] : undefined), templateContext(scope)) : undefined;
    if (Array.isArray(value)) return ok(value);
    return err(badLoop(where, task.loop, value === undefined ? 'is not defined' : 'is not a list'));
  }
  return err(badLoop(where, JSON.stringify(task.loop), 'is not a list'));
}

const badLoop = (where: string, what: string, why: string): BerthError => ({
  code: 'task.loop',
  message: `loop: ${what} ${why}`,
  where,
  hint: 'loop takes a list, or "{{ name }}" of a variable that holds a list',
  exit: 2,
});

/** A validated condition as the agent takes it; the schema allows nothing else. */
const condition = (c: unknown): Condition | undefined => (typeof c === 'string' || typeof c === 'boolean' || Array.isArray(c) ? (c as Condition) : undefined);

const tagList = (t: unknown): string[] => (Array.isArray(t) ? t.map(String) : typeof t === 'string' ? [t] : []);
const brief = (v: unknown) => {
  const s = typeof v === 'string' ? v : JSON.stringify(v);
  return s.length > 40 ? s.slice(0, 37) + '...' : s;
};
