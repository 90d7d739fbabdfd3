// Turns ajv's raw errors into findings a person can act on. Two jobs: collapse unions (ajv reports
// every branch of an anyOf; a person wants to hear about the one they meant) and phrase each
// error as "what was expected, what is there, what to try".
import type { ErrorObject } from 'ajv';
import { moduleNames } from '../../modules/catalog.js';
import { rolloutKeys } from '../../schema/rollout.js';
import { described, expected, jsonType, quote, resolve, typeMatches, type Schema } from './describe.js';
import { fromPointer, type DocPath } from './path.js';
import type { Finding } from './problems.js';
import { closest, didYouMean, shortList } from './suggest.js';
import { schemaErrors } from './validators.js';

// ajv's error, plus the two kinds this file makes up when it settles a union.
type AjvError = ErrorObject & { propertyName?: string };

/** Findings for the raw errors of one validation, unions resolved. */
export function explainSchemaErrors(raw: ErrorObject[]): Finding[] {
  return reduceUnions(raw).flatMap((e) => explain(e) ?? []);
}

const depth = (pointer: string) => (pointer === '' ? 0 : pointer.split('/').length);
const under = (pointer: string, base: string) => pointer === base || pointer.startsWith(`${base}/`);

/**
 * Replaces every failed anyOf, outermost first, by the errors of the one branch the value was
 * meant for, found again by validating the value against that branch alone. Everything ajv
 * reported at or below a union's position came from that union: the schemas here never put
 * another keyword next to an anyOf.
 */
function reduceUnions(errors: AjvError[]): AjvError[] {
  let out = errors.slice();
  const unions = errors
    .map((e, i) => ({ e, i }))
    .filter(({ e }) => e.keyword === 'anyOf')
    // At one position, ajv reports an inner union before the one that contains it.
    .sort((a, b) => depth(a.e.instancePath) - depth(b.e.instancePath) || b.i - a.i);
  for (const { e: u } of unions) {
    if (!out.includes(u)) continue;
    out = out.filter((e) => !under(e.instancePath, u.instancePath));
    out.push(...settleUnion(u));
  }
  return out;
}

type Choice = { kind: 'branch'; schema: Schema } | { kind: 'none' } | { kind: 'bad-tag'; tag: string; allowed: string[] };

function settleUnion(u: AjvError): AjvError[] {
  const union = u.parentSchema as Schema;
  const choice = chooseBranch(union, u.data);
  if (choice.kind === 'none') return [{ ...u, keyword: 'x-union', params: {} }];
  if (choice.kind === 'bad-tag') {
    return [{ ...u, keyword: 'x-union-tag', instancePath: `${u.instancePath}/${choice.tag}`, params: choice, data: (u.data as Record<string, unknown>)[choice.tag] }];
  }
  const sub = schemaErrors(choice.schema, u.data).map((e) => ({ ...e, instancePath: u.instancePath + e.instancePath }));
  return reduceUnions(sub);
}

/** The branch a value was meant for: by its tag (`provider:`), by its kind, or by the fewest errors. */
function chooseBranch(union: Schema, data: unknown): Choice {
  const branches = union.anyOf ?? [];
  const tag = union.unionTag;
  if (tag && jsonType(data) === 'object') {
    const obj = data as Record<string, unknown>;
    const resolved = branches.map(resolve);
    const tagOf = (b: Schema) => b.properties?.[tag]?.const;
    if (tag in obj) {
      const i = resolved.findIndex((b) => tagOf(b) === obj[tag]);
      if (i >= 0) return { kind: 'branch', schema: branches[i] };
      return { kind: 'bad-tag', tag, allowed: resolved.map(tagOf).filter((t): t is string => typeof t === 'string') };
    }
    const untagged = resolved.findIndex((b) => b.type === 'object' && !b.properties?.[tag]);
    if (untagged >= 0) return { kind: 'branch', schema: branches[untagged] };
  }
  const candidates = branches.filter((b) => typeMatches(b, data));
  if (candidates.length === 0) return { kind: 'none' };
  let best = candidates[0];
  if (candidates.length > 1) {
    let fewest = Infinity;
    for (const c of candidates) {
      const n = schemaErrors(c, data).length;
      if (n < fewest) [best, fewest] = [c, n];
    }
  }
  return { kind: 'branch', schema: best };
}

/** `ports[1]`, `become`, `web`: the last key of a path with any list positions after it. */
function label(path: DocPath): string {
  let i = path.length - 1;
  while (i >= 0 && /^\d+$/.test(String(path[i]))) i--;
  if (i < 0) return path.length ? `item ${path.map((p) => `[${p}]`).join('')}` : 'the document';
  return String(path[i]) + path.slice(i + 1).map((p) => `[${p}]`).join('');
}

/** "a task", "the playbook", "service "web"": the object a key sits in. */
function context(schema: Schema, path: DocPath): string {
  const title = schema.title;
  const last = path[path.length - 1];
  if (!title) return `"${label(path)}"`;
  if (title === 'playbook' || title === 'inventory' || title.endsWith('s')) return `the ${title}`;
  if ((title === 'service' || title === 'sidecar' || title === 'host' || title === 'group') && typeof last === 'string' && !/^\d+$/.test(last)) {
    return `${title} ${JSON.stringify(last)}`;
  }
  return `${/^([aeiou]|http)/.test(title) ? 'an' : 'a'} ${title}`;
}

// Keys people bring from Ansible, Compose or Kamal that berth spells or places differently.
const misplaced: Record<string, Record<string, string>> = {
  play: {
    ...Object.fromEntries(rolloutKeys.map((k) => [k, `rollout settings go in the play's \`rollout:\` block, e.g. rollout: { ${k}: ... }`])),
    roles: 'berth has no roles: put the tasks in `tasks:` (or another play)',
    pre_tasks: 'berth has no pre_tasks: put them first in `tasks:`',
    post_tasks: 'berth has no post_tasks: put them last in `tasks:`',
    gather_facts: 'berth always has the facts: they come with the agent\'s start at no extra cost; remove gather_facts',
  },
  task: {
    with_items: 'use `loop:` instead',
    with_list: 'use `loop:` instead',
    args: 'put the parameters under the module key, e.g. command: { argv: [...] }',
    hosts: '`hosts` belongs to a play, not a task',
    action: 'write the module name as the key, e.g. `- command: uptime`',
    listen: '`listen` is for handlers only',
  },
  service: {
    env: 'Compose calls it `environment`',
    scale: 'use `replicas`',
    memory: 'use `resources: { memory: 64m }` or `mem_limit`',
    healthy: 'use `health:` (berth\'s rollout gate) or `healthcheck:` (Docker\'s own)',
    container: 'a service is the container spec itself: move these keys up one level',
  },
  deploy: {
    update_config: 'berth replaces containers by the service\'s `update:` (order, min_healthy_time, drain_time, ...) and the play\'s `rollout:`',
    rollback_config: 'berth rolls back by the play\'s `rollout:` (auto_revert) and `berth rollback`',
  },
  'restart policy': {
    window: 'Docker restarts a container without a window (that is a Swarm setting): remove it',
  },
};

function unknownKey(path: DocPath, key: string, parent: Schema, data: unknown): Finding {
  const allowed = Object.keys(parent.properties ?? {});
  const where = context(parent, path);
  const title = parent.title ?? '';
  const kind = title === 'handler' ? 'task' : title;
  const placed = misplaced[kind]?.[key] ?? (kind === 'sidecar' ? misplaced.service[key] : undefined);
  const near = closest(key, allowed);
  const keyPath = [...path, key];
  if (placed) return { code: 'schema.unknown-key', message: `unknown key ${JSON.stringify(key)} in ${where}`, path: keyPath, key: true, hint: placed };
  if (near) return { code: 'schema.unknown-key', message: `unknown key ${JSON.stringify(key)} in ${where}`, path: keyPath, key: true, hint: `did you mean ${JSON.stringify(near)}?` };
  // A task that already has its module: the stray key is not another module, just unknown.
  const hasModule = Object.keys(data && typeof data === 'object' ? data : {}).some((k) => (moduleNames as string[]).includes(k));
  if (kind === 'task' && !hasModule) {
    return {
      code: 'playbook.unknown-module',
      message: `unknown module ${JSON.stringify(key)} in ${where}`,
      path: keyPath,
      key: true,
      hint: `berth's modules are: ${moduleNames.join(', ')} (a task takes exactly one, next to keys like name, when, notify, register)`,
    };
  }
  const keys = allowed.filter((k) => !k.startsWith('x-') && !(kind === 'task' && (moduleNames as string[]).includes(k)));
  return {
    code: 'schema.unknown-key',
    message: `unknown key ${JSON.stringify(key)} in ${where}`,
    path: keyPath,
    key: true,
    hint: keys.length ? `allowed keys: ${shortList(keys, 16)} (own data goes under keys starting with x-)` : undefined,
  };
}

function emptyHint(path: DocPath): string {
  const last = path[path.length - 1];
  if (last !== undefined && /^\d+$/.test(String(last))) return 'this list item is empty: write a value after "-", or remove the item';
  return `write a value after "${String(last ?? '')}:", or remove the key`;
}

function typeHint(parent: Schema, data: unknown, path: DocPath): string | undefined {
  const want = resolve(parent);
  const types = new Set([want.type].flat().filter(Boolean));
  const t = jsonType(data);
  if (t === 'null') return emptyHint(path);
  if (types.has('string') && (t === 'integer' || t === 'number' || t === 'boolean')) return `quote it: "${data}"`;
  if ((types.has('integer') || types.has('number')) && t === 'string' && /^-?\d+(\.\d+)?$/.test((data as string).trim())) return 'remove the quotes: numbers are written bare';
  if (types.has('boolean') && t === 'string' && /^(yes|no|on|off|y|n|true|false)$/i.test(data as string)) {
    return 'write true or false without quotes (YAML 1.2 reads yes/no/on/off as strings)';
  }
  if (types.has('array') && (t === 'string' || t === 'integer')) return `write a list, e.g. [${JSON.stringify(data)}]`;
  return undefined;
}

function explain(e: AjvError): Finding | undefined {
  // propertyNames reports the failed name twice: once from inside (with `propertyName`), once itself.
  if (e.propertyName !== undefined && e.keyword !== 'propertyNames') return undefined;
  const path = fromPointer(e.instancePath);
  const parent = (e.parentSchema ?? {}) as Schema;
  const data = e.data;
  const what = label(path);
  const p = e.params as Record<string, unknown>;
  switch (e.keyword) {
    case 'additionalProperties':
      return unknownKey(path, String(p.additionalProperty), parent, data);
    case 'propertyNames': {
      const name = String(p.propertyName);
      const names = (parent.propertyNames ?? {}) as Schema;
      return {
        code: 'schema.bad-name',
        message: `invalid name ${JSON.stringify(name)} in ${what}`,
        path: [...path, name],
        key: true,
        hint: names.expected ? `expected ${names.expected}` : undefined,
      };
    }
    case 'required': {
      const missing = String(p.missingProperty);
      const about = resolve(parent.properties?.[missing] ?? {}).description ?? parent.properties?.[missing]?.description;
      return {
        code: 'schema.required',
        message: `missing required key ${JSON.stringify(missing)} in ${context(parent, path)}`,
        path,
        hint: about ? `${missing}: ${about}` : undefined,
      };
    }
    case 'type':
      return { code: 'schema.type', message: `${what}: expected ${expected(parent)}, got ${described(data)}`, path, hint: typeHint(parent, data, path) };
    case 'x-union':
      return { code: 'schema.type', message: `${what}: expected ${expected(parent)}, got ${described(data)}`, path, hint: unionHint(parent, data, path) };
    case 'enum': {
      const allowed = (parent.enum ?? []).map(String);
      const near = typeof data === 'string' ? closest(data, allowed) : undefined;
      return {
        code: 'schema.enum',
        message: `${what}: unknown value ${typeof data === 'string' ? quote(data) : described(data)}`,
        path,
        hint: `${near ? `did you mean ${JSON.stringify(near)}? ` : ''}allowed: ${allowed.join(', ')}`,
      };
    }
    case 'x-union-tag': {
      const allowed = (p.allowed as string[]) ?? [];
      const near = typeof data === 'string' ? didYouMean(data, allowed) : undefined;
      return {
        code: 'schema.enum',
        message: `unknown ${p.tag} ${typeof data === 'string' ? quote(data) : described(data)}`,
        path,
        hint: `${near ? `${near} ` : ''}allowed: ${allowed.join(', ')}`,
      };
    }
    case 'const':
      return { code: 'schema.enum', message: `${what}: expected ${JSON.stringify(p.allowedValue)}, got ${described(data)}`, path };
    case 'pattern':
      return { code: 'schema.format', message: `${what}: expected ${expected(parent)}, got ${typeof data === 'string' ? quote(data) : described(data)}`, path };
    case 'minimum':
    case 'maximum':
    case 'exclusiveMinimum':
    case 'exclusiveMaximum':
      return { code: 'schema.range', message: `${what}: ${String(data)} is out of range, expected ${expected(parent)}`, path };
    case 'minItems':
      return {
        code: 'schema.range',
        message: `${what}: needs at least ${p.limit} ${p.limit === 1 ? 'item' : 'items'}`,
        path,
        hint: what === 'plays' ? 'add a play: plays: [{ hosts: all, tasks: [...] }]' : undefined,
      };
    case 'minLength':
      return { code: 'schema.range', message: `${what}: must not be empty`, path };
    default:
      return { code: `schema.${e.keyword}`, message: `${what}: ${e.message ?? 'is not valid'}`, path };
  }
}

function unionHint(union: Schema, data: unknown, path: DocPath): string | undefined {
  if (jsonType(data) === 'null') return emptyHint(path);
  // A number where a string would do (a version, a user id): quoting it is the fix.
  const branches = (union.anyOf ?? []).map(resolve);
  if (typeof data === 'number' && branches.some((b) => b.type === 'string')) return `quote it: "${String(data)}"`;
  return undefined;
}
