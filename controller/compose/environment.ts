// A Compose service's container environment, settled when the file is read: the `env_file:`
// files (relative to the Compose file, interpolated like `.env`), then `environment:`, which
// wins; a name given without a value takes the Compose variables' value, or is left out. The
// service keeps one `environment:` mapping and no `env_file:`, so nothing about it is read
// again on the hosts' behalf. The env files are the container's, not the Compose file's
// variables (as in the Compose specification).
import { existsSync, readFileSync, statSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { pathText, type DocPath } from '../load/path.js';
import { fileError, type Finding, type LoadError } from '../load/problems.js';
import { parseEnvFile } from './dotenv.js';
import type { Lookup } from './interpolate.js';

type Scalar = string | number | boolean;

export interface ServiceEnvironment {
  /** Problems inside the Compose file. */
  findings: Finding[];
  /** Problems inside an env file. */
  problems: LoadError[];
  unset: Array<{ name: string; file: string; line: number }>;
}

export function serviceEnvironment(svc: Record<string, unknown>, o: { name: string; dir: string; shownDir: string; lookup: Lookup }): ServiceEnvironment {
  const out: ServiceEnvironment = { findings: [], problems: [], unset: [] };
  const at: DocPath = ['services', o.name];
  const fromFiles: Record<string, string> = {};
  const entries = svc.env_file === undefined ? [] : Array.isArray(svc.env_file) ? svc.env_file : [svc.env_file];
  const single = !Array.isArray(svc.env_file);
  entries.forEach((entry, i) => {
    const path: DocPath = single ? [...at, 'env_file'] : [...at, 'env_file', i];
    const e = typeof entry === 'string' ? { path: entry } : entry !== null && typeof entry === 'object' && !Array.isArray(entry) ? (entry as Record<string, unknown>) : undefined;
    if (!e || typeof e.path !== 'string' || e.path === '') {
      out.findings.push({ code: 'compose.env-file', message: 'env_file: expected a path, or a mapping with path (and required)', path, hint: 'env_file: [app.env] or env_file: [{ path: app.env, required: false }]' });
      return;
    }
    for (const k of Object.keys(e)) {
      if (k === 'path' || k === 'required') continue;
      out.findings.push({
        code: k === 'format' ? 'compose.unsupported' : 'compose.unknown-key',
        message: k === 'format' ? `Compose key "format" in ${pathText(path)} is not supported by berth` : `unknown key ${JSON.stringify(k)} in ${pathText(path)}`,
        path: [...path, k],
        key: true,
        hint: k === 'format' ? 'remove it: berth reads env files in the .env format' : 'an env_file entry has path and required',
      });
    }
    const file = resolve(o.dir, e.path);
    const shown = isAbsolute(e.path) ? e.path : join(o.shownDir, e.path);
    if (!existsSync(file) || !statSync(file).isFile()) {
      if (e.required === false) return;
      out.findings.push({ code: 'compose.missing-file', message: `env_file ${JSON.stringify(e.path)} ${existsSync(file) ? 'is a directory' : 'does not exist'}`, path: typeof entry === 'string' ? path : [...path, 'path'], hint: `an env file is relative to the Compose file's folder (looked for ${shown}); required: false makes it optional` });
      return;
    }
    const r = parseEnvFile(readFileSync(file, 'utf8'), o.lookup);
    if (!r.ok) {
      out.problems.push(fileError(shown, 'compose.env-file', r.problem.message, 'lines of KEY=VALUE; quote a value that has a # or spaces', r.problem.line, 1));
      return;
    }
    Object.assign(fromFiles, r.values);
    for (const u of r.unset) out.unset.push({ name: u.name, file: shown, line: u.line });
  });
  delete svc.env_file;

  const own = keyValues(svc.environment);
  // A shape the schema will explain (a nested mapping as a value, a list of numbers): left as it is.
  if (own === undefined) return out;
  const merged: Record<string, Scalar> = { ...fromFiles };
  for (const [k, v] of Object.entries(own)) {
    if (v !== null) merged[k] = v;
    else {
      const found = o.lookup(k);
      if (found !== undefined) merged[k] = found;
      else delete merged[k];
    }
  }
  if (svc.environment !== undefined || Object.keys(merged).length) svc.environment = merged;
  return out;
}

/** `environment:` as a map (null: no value given), or undefined when it is not a shape Compose takes. */
function keyValues(env: unknown): Record<string, Scalar | null> | undefined {
  if (env === undefined || env === null) return {};
  if (Array.isArray(env)) {
    if (!env.every((l) => typeof l === 'string')) return undefined;
    return Object.fromEntries((env as string[]).map((line) => (line.includes('=') ? [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)] : [line, null])));
  }
  if (typeof env !== 'object') return undefined;
  const values = Object.values(env);
  if (!values.every((v) => v === null || typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean')) return undefined;
  return env as Record<string, Scalar | null>;
}
