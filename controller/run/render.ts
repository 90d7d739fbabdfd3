// Renders task parameters with handlebars over the host's vars and facts, on the controller, so
// the agent receives plain values. A missing variable is an error that names the task, never a
// silently empty string — unless it names a result that a task registers on the host: then the
// template is left for the agent to render when that result exists.
import type { HostFacts } from '../../protocol/agent-protocol.js';
import { hbs, missingVariable, renderDeep } from '../../lang/templates.js';
import { err, ok, type BerthError, type Result } from '../errors.js';

export { hbs };

export interface RenderScope {
  vars: Record<string, unknown>;
  facts?: HostFacts;
  host: string;
  groups: Record<string, string[]>;
  hostGroups: string[];
}

/** The context templates and conditions see for a host. */
export function templateContext(scope: RenderScope): Record<string, unknown> {
  return { ...scope.vars, facts: scope.facts, inventory_hostname: scope.host, host: scope.host, groups: scope.groups, group_names: scope.hostGroups };
}

export type Rendered = { value: unknown; deferred: boolean };

export function renderValue(value: unknown, scope: RenderScope, where: string, registered: ReadonlySet<string> = new Set()): Result<Rendered, BerthError> {
  if (registered.size && mentions(value, registered)) return ok({ value, deferred: true });
  try {
    return ok({ value: renderDeep(value, templateContext(scope)), deferred: false });
  } catch (e) {
    const missing = missingVariable(e);
    const msg = (e as Error).message.split('\n')[0];
    return err({
      code: missing ? 'template.undefined' : 'template.error',
      message: missing ? `variable "${missing}" is not defined for host ${scope.host}` : `template error for host ${scope.host}: ${msg}`,
      where,
      hint: missing ? 'define it in the playbook vars, the inventory, or with -e KEY=VALUE' : undefined,
      exit: 2,
    });
  }
}

/** Whether a template inside the value refers to one of these names (a registered result). */
function mentions(value: unknown, names: ReadonlySet<string>): boolean {
  if (typeof value === 'string') {
    for (const m of value.matchAll(/\{\{([^}]*)\}\}/g)) for (const w of m[1].match(/[A-Za-z_][\w]*/g) ?? []) if (names.has(w)) return true;
    return false;
  }
  if (Array.isArray(value)) return value.some((v) => mentions(v, names));
  if (value && typeof value === 'object') return Object.values(value).some((v) => mentions(v, names));
  return false;
}
