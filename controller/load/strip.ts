// Removes `x-` extension keys from a validated document wherever the schema allowed them as
// extensions, so later stages (config hashes of services, key loops) never see them.
import type { TSchema } from '@sinclair/typebox';
import { jsonType, resolve, typeMatches, type Schema } from './describe.js';

export function stripExtensions(schema: TSchema, data: unknown): void {
  strip(schema as unknown as Schema, data);
}

function strip(schema: Schema, data: unknown): void {
  const s = resolve(schema);
  if (s.anyOf) {
    // The document is valid: its kind (or, for tagged unions, its tag) names the branch. No
    // ajv here, so a valid document never makes berth compile a schema.
    const tag = s.unionTag;
    const obj = jsonType(data) === 'object' ? (data as Record<string, unknown>) : undefined;
    const branch =
      tag && obj
        ? s.anyOf.find((b) => (tag in obj ? resolve(b).properties?.[tag]?.const === obj[tag] : resolve(b).type === 'object' && !resolve(b).properties?.[tag]))
        : s.anyOf.find((b) => typeMatches(b, data));
    if (branch) strip(branch, data);
    return;
  }
  if (Array.isArray(data)) {
    if (s.items) for (const item of data) strip(s.items, item);
    return;
  }
  if (data === null || typeof data !== 'object') return;
  const obj = data as Record<string, unknown>;
  const extensible = (s.patternProperties as Record<string, unknown> | undefined)?.['^x-'] !== undefined;
  const additional = s.additionalProperties;
  for (const key of Object.keys(obj)) {
    if (extensible && key.startsWith('x-')) {
      delete obj[key];
      continue;
    }
    const sub = s.properties?.[key] ?? (additional && typeof additional === 'object' ? (additional as Schema) : undefined);
    if (sub) strip(sub, obj[key]);
  }
}
