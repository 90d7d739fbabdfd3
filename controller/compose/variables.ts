// Where a Compose file's `${VAR}` gets its value. Lowest first:
//   1. the `.env` file beside the Compose file,
//   2. berth vars: the playbook's vars and vars_files, then the play's (as for templates),
//   3. the controller's environment (`TAG=v2 berth apply ...`).
// As in Compose, what the command runs with beats what files say (Compose puts the shell above
// .env); the playbook's vars count as files. `-e` does not reach a Compose file: the file is
// read and checked before the run's flags apply, so that `berth validate` sees what apply sees.
// Only plain values are variables: a berth var holding a list, a mapping or a `{{ }}` template
// (rendered per host, while a Compose file is read once) is not one.
import type { Lookup } from './interpolate.js';

export interface Variables {
  lookup: Lookup;
  /** Why a name that has no value is not a berth var, for a warning's hint. */
  why(name: string): string | undefined;
}

export function composeVariables(opts: { env: Record<string, string | undefined>; vars: Record<string, unknown>; dotenv?: Record<string, string> }): Variables {
  const berth: Record<string, string> = {};
  const skipped: Record<string, string> = {};
  for (const [k, v] of Object.entries(opts.vars)) {
    if (typeof v === 'string' && v.includes('{{')) skipped[k] = `the berth var ${k} is a template, which a Compose file does not render`;
    else if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') berth[k] = String(v);
    else if (v !== null && v !== undefined) skipped[k] = `the berth var ${k} is a ${Array.isArray(v) ? 'list' : 'mapping'}, not a plain value`;
  }
  const dotenv = opts.dotenv ?? {};
  return {
    lookup: (name) => opts.env[name] ?? (Object.hasOwn(berth, name) ? berth[name] : undefined) ?? (Object.hasOwn(dotenv, name) ? dotenv[name] : undefined),
    why: (name) => (Object.hasOwn(skipped, name) ? skipped[name] : undefined),
  };
}

/** The lookup the `.env` file itself is interpolated with: everything above it. */
export function aboveDotenv(opts: { env: Record<string, string | undefined>; vars: Record<string, unknown> }): Lookup {
  return composeVariables({ ...opts, dotenv: {} }).lookup;
}
