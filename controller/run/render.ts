// Renders task parameters with handlebars over the host's vars and facts, on the controller, so
// the agent receives plain values. A missing variable is an error that names the task, never a
// silently empty string.
import Handlebars from 'handlebars';
import type { HostFacts } from '../../protocol/agent-protocol.js';
import { err, ok, type BerthError, type Result } from '../errors.js';

const hbs = Handlebars.create();
const cache = new Map<string, HandlebarsTemplateDelegate>();

export interface RenderScope {
  vars: Record<string, unknown>;
  facts?: HostFacts;
  host: string;
  groups: Record<string, string[]>;
  hostGroups: string[];
}

export function renderValue(value: unknown, scope: RenderScope, where: string): Result<unknown, BerthError> {
  const context = { ...scope.vars, facts: scope.facts, inventory_hostname: scope.host, host: scope.host, groups: scope.groups, group_names: scope.hostGroups };
  const walk = (v: unknown): unknown => {
    if (typeof v === 'string') return v.includes('{{') ? renderString(v, context) : v;
    if (Array.isArray(v)) return v.map(walk);
    if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x)]));
    return v;
  };
  try {
    return ok(walk(value));
  } catch (e) {
    const msg = (e as Error).message.split('\n')[0];
    const missing = /"([^"]+)" not defined/.exec(msg);
    return err({
      code: missing ? 'template.undefined' : 'template.error',
      message: missing ? `variable "${missing[1]}" is not defined for host ${scope.host}` : `template error for host ${scope.host}: ${msg}`,
      where,
      hint: missing ? 'define it in the playbook vars, the inventory, or with -e KEY=VALUE' : undefined,
      exit: 2,
    });
  }
}

function renderString(s: string, context: object): string {
  let t = cache.get(s);
  if (!t) cache.set(s, (t = hbs.compile(s, { strict: true, noEscape: true })));
  return t(context);
}
