// Defensive reads for checks that run on documents the schema may have rejected: a wrong shape
// reads as empty instead of throwing, since the schema errors already explain it.

export function asRecord(v: unknown): Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
}

export function asList(v: unknown): unknown[] {
  return Array.isArray(v) ? v : [];
}

/** `notify: x` and `notify: [x, y]` alike, with each item's index (undefined for the single form). */
export function oneOrMany(v: unknown): { value: unknown; index?: number }[] {
  if (Array.isArray(v)) return v.map((value, index) => ({ value, index }));
  return v === undefined || v === null ? [] : [{ value: v }];
}

/** Entries of a map, leaving out `x-` extension keys. */
export function entries(v: unknown): [string, unknown][] {
  return Object.entries(asRecord(v)).filter(([k]) => !k.startsWith('x-'));
}

export const isTemplate = (v: unknown): boolean => typeof v === 'string' && v.includes('{{');
