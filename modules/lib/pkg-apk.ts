// apk (Alpine). UNTESTED: written to the same contract as apt, but no Alpine host can run
// here; treat it as a starting point and test it before relying on it.
import { statSync } from 'node:fs';
import { runArgv } from '../command.js';
import { capture } from './exec.js';
import type { PkgBackend, Read, Versions } from './pkg-backend.js';

/** `apk policy` prints "name policy:" then "  version:" lines, installed ones marked by a path. */
function policy(text: string, names: string[], installedOnly: boolean): Versions {
  const out: Versions = new Map(names.map((n) => [n, undefined]));
  let current: string | undefined;
  let version: string | undefined;
  for (const line of text.split('\n')) {
    const head = /^(\S+) policy:$/.exec(line);
    if (head) {
      current = head[1];
      continue;
    }
    const v = /^ {2}(\S+):$/.exec(line);
    if (v) version = v[1];
    else if (current && version && out.has(current) && out.get(current) === undefined) {
      if (!installedOnly || line.trim() === 'lib/apk/db/installed') out.set(current, version);
    }
  }
  return out;
}

export const apk: PkgBackend = {
  name: 'apk',
  async installed(names): Promise<Read<Versions>> {
    const r = await capture(['apk', 'policy', ...names]);
    if (r.spawnError) return { ok: false, error: { code: 'package.no-apk', message: `cannot run apk: ${r.spawnError}` } };
    return { ok: true, value: policy(r.stdout, names, true) };
  },
  async candidates(names): Promise<Read<Versions>> {
    // Versions are listed newest first: the first one is the candidate.
    const r = await capture(['apk', 'policy', ...names]);
    return { ok: true, value: policy(r.stdout, names, false) };
  },
  async cacheAgeMs() {
    try {
      return Date.now() - statSync('/var/cache/apk').mtimeMs;
    } catch {
      return undefined;
    }
  },
  refresh: (ctx) => runArgv(['apk', 'update', '-q'], {}, ctx),
  install: (names, _opts, ctx) => runArgv(['apk', 'add', '-q', '-u', ...names], {}, ctx),
  remove: (names, opts, ctx) => runArgv(['apk', 'del', '-q', ...(opts.purge ? ['--purge'] : []), ...names], {}, ctx),
};
