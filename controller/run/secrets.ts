// Secret vars: read on the controller when the run starts (never written to the playbook, a
// plan file or state), then masked wherever they could be shown.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { badInput, err, ok, type BerthError, type Result } from '../errors.js';

export type SecretRef = { env: string } | { file: string };

export function loadSecrets(
  refs: Record<string, SecretRef> | undefined,
  baseDir: string,
  where: (path: Array<string | number>) => string,
  env: NodeJS.ProcessEnv = process.env,
): Result<Record<string, string>, BerthError[]> {
  const values: Record<string, string> = {};
  const problems: BerthError[] = [];
  for (const [name, ref] of Object.entries(refs ?? {})) {
    if ('env' in ref) {
      const v = env[ref.env];
      if (v === undefined || v === '') problems.push(badInput('secret.missing', `secret ${name}: the environment variable ${ref.env} is not set`, where(['secrets', name, 'env']), `export ${ref.env}=... before running berth`));
      else values[name] = v;
    } else {
      try {
        values[name] = readFileSync(resolve(baseDir, ref.file), 'utf8').replace(/\r?\n$/, '');
      } catch (e) {
        problems.push(badInput('secret.unreadable', `secret ${name}: cannot read ${ref.file} (${(e as NodeJS.ErrnoException).code ?? 'error'})`, where(['secrets', name, 'file'])));
      }
    }
  }
  return problems.length ? err(problems) : ok(values);
}
