// dnf (Fedora, RHEL and derivatives). UNTESTED: written to the same contract as apt, but no
// dnf host can run here; treat it as a starting point and test it before relying on it.
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { runArgv } from '../command.js';
import { capture } from './exec.js';
import type { PkgBackend, Read, Versions } from './pkg-backend.js';

const ENV = { LC_ALL: 'C' };
const CACHE = '/var/cache/dnf';

const parseNv = (text: string, names: string[]): Versions => {
  const out: Versions = new Map(names.map((n) => [n, undefined]));
  for (const line of text.split('\n')) {
    const [n, v] = line.split('\t');
    if (v && out.has(n)) out.set(n, v);
  }
  return out;
};

export const dnf: PkgBackend = {
  name: 'dnf',
  async installed(names): Promise<Read<Versions>> {
    // rpm prints "package x is not installed" for unknown names (exit 1); only tab lines count.
    const r = await capture(['rpm', '-q', '--qf', '%{NAME}\t%{VERSION}-%{RELEASE}\n', ...names], { env: ENV });
    if (r.spawnError) return { ok: false, error: { code: 'package.no-rpm', message: `cannot run rpm: ${r.spawnError}` } };
    return { ok: true, value: parseNv(r.stdout, names) };
  },
  async candidates(names): Promise<Read<Versions>> {
    const r = await capture(['dnf', '-q', '-C', 'repoquery', '--latest-limit=1', '--qf', '%{name}\t%{version}-%{release}\n', ...names], { env: ENV });
    return { ok: true, value: parseNv(r.stdout, names) };
  },
  async cacheAgeMs() {
    try {
      const times = readdirSync(CACHE).filter((f) => f.endsWith('.solv')).map((f) => statSync(join(CACHE, f)).mtimeMs);
      return times.length ? Date.now() - Math.max(...times) : undefined;
    } catch {
      return undefined;
    }
  },
  refresh: (ctx) => runArgv(['dnf', '-y', '-q', 'makecache'], { env: ENV }, ctx),
  async install(names, opts, ctx) {
    const weak = opts.recommends === undefined ? [] : [`--setopt=install_weak_deps=${opts.recommends ? 'True' : 'False'}`];
    // `install` leaves installed packages alone; `upgrade` then brings named ones to the newest.
    const r = await runArgv(['dnf', '-y', '-q', 'install', ...weak, ...names], { env: ENV }, ctx);
    return r.ok ? runArgv(['dnf', '-y', '-q', 'upgrade', ...names], { env: ENV }, ctx) : r;
  },
  remove: (names, _opts, ctx) => runArgv(['dnf', '-y', '-q', 'remove', ...names], { env: ENV }, ctx),
};
