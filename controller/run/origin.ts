// Who is running berth and from which revision of the playbook: recorded with every release a
// run makes, so `berth releases` can say who deployed what, from any controller.
import { execFileSync } from 'node:child_process';
import { createHash, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { hostname, userInfo } from 'node:os';
import { dirname } from 'node:path';
import type { ReleaseOrigin } from '../../modules/service-spec.js';

const cache = new Map<string, ReleaseOrigin>();
// One id per controller process: a process is one run. Its deploy locks carry the same id
// (locks.ts), so a lock and the releases its run recorded name the same run.
const runId = randomUUID();

export const currentRunId = (): string => runId;

/** The run's origin: `user@machine`, the git commit of the playbook (+dirty), else its content hash. */
export function runOrigin(playbookPath: string): ReleaseOrigin {
  const hit = cache.get(playbookPath);
  if (hit) return hit;
  const origin = { operator: `${safeUser()}@${hostname()}`, revision: gitRevision(playbookPath) ?? contentRevision(playbookPath), runId };
  cache.set(playbookPath, origin);
  return origin;
}

function gitRevision(path: string): string | undefined {
  try {
    const opts = { cwd: dirname(path), encoding: 'utf8' as const, stdio: ['ignore', 'pipe', 'ignore'] as ['ignore', 'pipe', 'ignore'], timeout: 2000 };
    const rev = execFileSync('git', ['rev-parse', '--short=12', 'HEAD'], opts).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--', path], opts).trim() !== '';
    return rev ? `git:${rev}${dirty ? '+dirty' : ''}` : undefined;
  } catch {
    return undefined;
  }
}

function contentRevision(path: string): string {
  try {
    return `sha256:${createHash('sha256').update(readFileSync(path)).digest('hex').slice(0, 12)}`;
  } catch {
    return 'unknown';
  }
}

function safeUser(): string {
  try {
    return userInfo().username;
  } catch {
    return process.env.USER ?? 'unknown';
  }
}
