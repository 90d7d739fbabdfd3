// The registry entries berth accepts from anywhere outside this process: a host's report, the
// fleet view, an etcd value. The schema (schema/registry.ts) is compiled once, on first use; an
// entry that fails it is dropped, and the caller says so with the reason given here.
import type { TypeCheck } from '@sinclair/typebox/compiler';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { ServiceInstanceSchema } from '../schema/registry.js';
import type { ServiceInstance } from '../protocol/agent-protocol.js';

let compiled: TypeCheck<typeof ServiceInstanceSchema> | undefined;
const checker = () => (compiled ??= TypeCompiler.Compile(ServiceInstanceSchema));

/** Why `value` is no registry entry, in words (field and what it should be); undefined when it is one. */
export function instanceProblem(value: unknown): string | undefined {
  const c = checker();
  if (c.Check(value)) return undefined;
  const e = c.Errors(value).First();
  if (!e) return 'not a registry entry';
  const field = e.path.replace(/^\//, '').replace(/\//g, '.') || 'the entry';
  const expected = (e.schema as { expected?: string }).expected;
  return `${field}: ${JSON.stringify(e.value)?.slice(0, 80) ?? 'missing'} is not ${expected ?? e.message.replace(/^Expected /, '').toLowerCase()}`;
}

export const isInstance = (value: unknown): value is ServiceInstance => checker().Check(value);

/** Entries that pass, and the others with the reason each was dropped. */
export function sortOutInstances(list: unknown): { valid: ServiceInstance[]; refused: Array<{ value: unknown; problem: string }> } {
  const valid: ServiceInstance[] = [];
  const refused: Array<{ value: unknown; problem: string }> = [];
  for (const value of Array.isArray(list) ? list : []) {
    const problem = instanceProblem(value);
    if (problem) refused.push({ value, problem });
    else valid.push(value as ServiceInstance);
  }
  return { valid, refused };
}

const SAMPLE: ServiceInstance = { id: 'x', service: 'x', host: 'x', address: '127.0.0.1', port: 1, tags: [], release: '', health: 'passing', registeredAt: '' };

/** Why one field's value would make a bad registry entry (a rendered playbook value, before it is used). */
export function fieldProblem<K extends keyof ServiceInstance>(field: K, value: ServiceInstance[K] | undefined): string | undefined {
  return value === undefined ? undefined : instanceProblem({ ...SAMPLE, [field]: value });
}
