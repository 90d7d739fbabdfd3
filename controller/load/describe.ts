// Words for schemas and values: what a schema accepts ("a duration like "30s"...") and what the
// document holds instead ("the number 1000"). Error messages are built from these.
import { sharedSchema } from '../../schema/common.js';

export type Schema = Record<string, unknown> & {
  type?: string | string[];
  anyOf?: Schema[];
  properties?: Record<string, Schema>;
  items?: Schema;
  enum?: unknown[];
  const?: unknown;
  $ref?: string;
  title?: string;
  description?: string;
  expected?: string;
  unionTag?: string;
  pattern?: string;
  minimum?: number;
  maximum?: number;
};

export type JsonType = 'null' | 'boolean' | 'integer' | 'number' | 'string' | 'array' | 'object';

export function jsonType(v: unknown): JsonType {
  if (v === null || v === undefined) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  if (typeof v === 'boolean') return 'boolean';
  if (typeof v === 'string') return 'string';
  return 'object';
}

/** Follows a `$ref` to a shared schema; the schema itself otherwise. */
export function resolve(schema: Schema): Schema {
  let s = schema;
  for (let i = 0; i < 8 && typeof s.$ref === 'string'; i++) {
    const target = sharedSchema(s.$ref) as Schema | undefined;
    if (!target) break;
    s = target;
  }
  return s;
}

/** Could this value be of the kind the schema describes, leaving aside its details? */
export function typeMatches(schema: Schema, value: unknown): boolean {
  const s = resolve(schema);
  if (s.anyOf) return s.anyOf.some((b) => typeMatches(b, value));
  const t = jsonType(value);
  if (s.const !== undefined) return jsonType(s.const) === t || (t === 'integer' && jsonType(s.const) === 'number');
  if (s.type === undefined) return true;
  const types = Array.isArray(s.type) ? s.type : [s.type];
  return types.includes(t) || (t === 'integer' && types.includes('number'));
}

function range(s: Schema): string {
  const { minimum: lo, maximum: hi } = s;
  if (lo !== undefined && hi !== undefined) return ` from ${lo} to ${hi}`;
  if (lo !== undefined) return lo === 0 ? ' (0 or more)' : ` of at least ${lo}`;
  if (hi !== undefined) return ` of at most ${hi}`;
  return '';
}

/** What a schema accepts, in words. */
export function expected(schema: Schema): string {
  const s = resolve(schema);
  if (typeof s.expected === 'string') return s.expected;
  if (s.anyOf) return orList(unique(s.anyOf.map(expected)));
  if (s.const !== undefined) return JSON.stringify(s.const);
  if (s.enum) return `one of ${s.enum.map(String).join(', ')}`;
  const type = Array.isArray(s.type) ? s.type[0] : s.type;
  switch (type) {
    case 'string':
      return s.pattern ? `a string matching ${s.pattern}` : 'a string';
    case 'integer':
      return `a whole number${range(s)}`;
    case 'number':
      return `a number${range(s)}`;
    case 'boolean':
      return 'true or false';
    case 'null':
      return 'nothing (an empty value)';
    case 'array': {
      const item = s.items ? resolve(s.items) : undefined;
      return item?.type === 'string' && !item.pattern ? 'a list of strings' : 'a list';
    }
    case 'object':
      return s.title ? `a mapping (${s.title})` : 'a mapping';
    default:
      return 'a value';
  }
}

/** The value found, in words: `the number 1000`, `the string "yes"`, `a list`. */
export function described(v: unknown): string {
  switch (jsonType(v)) {
    case 'null':
      return 'nothing (the value is empty)';
    case 'boolean':
      return `${v}`;
    case 'integer':
    case 'number':
      return `the number ${v}`;
    case 'string':
      return `the string ${quote(v as string)}`;
    case 'array':
      return 'a list';
    default:
      return 'a mapping';
  }
}

export function quote(s: string): string {
  const short = s.length > 60 ? `${s.slice(0, 57)}...` : s;
  return JSON.stringify(short);
}

export function orList(items: string[]): string {
  if (items.length <= 1) return items[0] ?? '';
  return `${items.slice(0, -1).join(', ')} or ${items[items.length - 1]}`;
}

export function unique<T>(xs: T[]): T[] {
  return [...new Set(xs)];
}
