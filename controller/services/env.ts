// A container's environment: env_file entries first (read here, on the controller, relative to
// the playbook), then `environment`, which wins. As in Compose, a name without a value takes the
// controller's own value, and is left out when the controller has none.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';

type KeyValues = Record<string, string | number | boolean | null> | string[];
export type EnvResult = { ok: true; value: Record<string, string> } | { ok: false; message: string; hint?: string };

/** Compose's `KEY: value` maps and `KEY=value` lists as one map; null means "no value given". */
export function keyValues(kv: KeyValues | undefined): Record<string, string | null> {
  if (!kv) return {};
  if (Array.isArray(kv)) {
    return Object.fromEntries(kv.map((line) => {
      const at = line.indexOf('=');
      return at < 0 ? [line, null] : [line.slice(0, at), line.slice(at + 1)];
    }));
  }
  return Object.fromEntries(Object.entries(kv).map(([k, v]) => [k, v === null ? null : String(v)]));
}

export function buildEnv(environment: KeyValues | undefined, envFile: string | string[] | undefined, baseDir: string, hostEnv: NodeJS.ProcessEnv = process.env): EnvResult {
  const merged: Record<string, string | null> = {};
  for (const file of envFile === undefined ? [] : Array.isArray(envFile) ? envFile : [envFile]) {
    const path = resolve(baseDir, file);
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      return { ok: false, message: `env_file ${file}: ${code === 'ENOENT' ? 'no such file' : (e as Error).message}`, hint: `paths are relative to the playbook's folder (${baseDir})` };
    }
    const parsed = parseEnvFile(text);
    if (!parsed.ok) return { ok: false, message: `env_file ${file}:${parsed.line}: ${parsed.message}` };
    Object.assign(merged, parsed.value);
  }
  Object.assign(merged, keyValues(environment));
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(merged)) {
    const value = v ?? hostEnv[k];
    if (value !== undefined) out[k] = value;
  }
  return { ok: true, value: out };
}

/** KEY=VALUE lines: comments, blank lines, `export`, single quotes (literal), double quotes (escapes). */
export function parseEnvFile(text: string): { ok: true; value: Record<string, string | null> } | { ok: false; line: number; message: string } {
  const out: Record<string, string | null> = {};
  const lines = text.split(/\r?\n/);
  for (const [i, raw] of lines.entries()) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const m = /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_.-]*)\s*(?:=(.*))?$/.exec(line);
    if (!m) return { ok: false, line: i + 1, message: `expected KEY=VALUE, got ${JSON.stringify(line.slice(0, 60))}` };
    const [, key, rawValue] = m;
    if (rawValue === undefined) {
      out[key] = null;
      continue;
    }
    const v = rawValue.trim();
    if (v.startsWith("'")) {
      const end = v.indexOf("'", 1);
      if (end < 0) return { ok: false, line: i + 1, message: 'unterminated single quote' };
      out[key] = v.slice(1, end);
    } else if (v.startsWith('"')) {
      const m2 = /^"((?:[^"\\]|\\.)*)"/.exec(v);
      if (!m2) return { ok: false, line: i + 1, message: 'unterminated double quote' };
      out[key] = m2[1].replace(/\\(.)/g, (_, c: string) => ({ n: '\n', t: '\t', r: '\r' })[c] ?? c);
    } else {
      out[key] = v.replace(/\s+#.*$/, '');
    }
  }
  return { ok: true, value: out };
}
