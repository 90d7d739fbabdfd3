// A Compose file's values interpolated one by one, each with its path, so that a problem
// points at the value that has it; keys are not interpolated (as in Compose), and a value whose
// key takes a number or a boolean is cast back to one.
import { pathText, type DocPath } from '../load/path.js';
import type { Finding } from '../load/problems.js';
import { castFor } from './casts.js';
import { describeError, substitute, type Lookup } from './interpolate.js';

export type Report = (path: DocPath, f: Omit<Finding, 'path'>) => void;

function interpolate(value: unknown, path: DocPath, lookup: Lookup, report: Report, unset: (name: string, path: DocPath) => void): unknown {
  if (typeof value === 'string') {
    const r = substitute(value, lookup);
    if (!r.ok) {
      report(path, {
        code: r.error.kind === 'required' ? 'compose.required-variable' : 'compose.interpolation',
        message: describeError(r.error),
        hint: r.error.kind === 'required' ? `set ${r.error.variable} in the environment, in the playbook's vars, or in .env beside the Compose file` : 'write $$ for a literal $; a variable is $NAME, ${NAME} or ${NAME:-default}',
      });
      return value;
    }
    for (const name of r.unset) unset(name, path);
    const cast = castFor(path);
    if (!cast) return r.value;
    const c = cast(r.value);
    if (c.ok) return c.value;
    report(path, {
      code: 'compose.type',
      message: `${pathText(path)}: expected ${c.expected}, got ${JSON.stringify(r.value)}${r.value !== value ? ` (from ${JSON.stringify(value)})` : ''}`,
      hint: r.value !== value ? `give the variable a value that is ${c.expected}, or a default: \${NAME:-value}` : `write ${c.expected}`,
    });
    return value;
  }
  if (Array.isArray(value)) return value.map((v, i) => interpolate(v, [...path, i], lookup, report, unset));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, interpolate(v, [...path, k], lookup, report, unset)]));
  }
  return value;
}

/** A copy of the data with every string value interpolated; `unset` hears of each unset variable a value used. */
export function interpolateValues(data: unknown, lookup: Lookup, report: Report, unset: (name: string, path: DocPath) => void): unknown {
  return interpolate(data, [], lookup, report, unset);
}
