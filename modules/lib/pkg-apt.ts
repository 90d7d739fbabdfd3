// apt: installed state from dpkg-query (the package database, not apt's screen output),
// candidates from apt-cache's deb822 records; every change goes through apt-get.
import { mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runArgv } from '../command.js';
import type { ApplyResult } from '../contract.js';
import { capture } from './exec.js';
import type { PkgBackend, Read, Versions } from './pkg-backend.js';

const ENV = { DEBIAN_FRONTEND: 'noninteractive', LC_ALL: 'C', NEEDRESTART_MODE: 'a' };
// Another apt (unattended-upgrades at boot) holding the lock is waited for, not failed on.
const LOCK = ['-o', 'DPkg::Lock::Timeout=120'];
const LISTS = '/var/lib/apt/lists';
/** Touched after each successful refresh (the path Ubuntu's update-notifier uses too). */
const STAMP = '/var/lib/apt/periodic/update-success-stamp';

/** Packages of a deb822 stream (dpkg-query or apt-cache output) by name. */
function records(text: string): Array<Record<string, string>> {
  return text
    .split(/\n\n+/)
    .map((para) => Object.fromEntries(para.split('\n').flatMap((l) => (/^[A-Za-z-]+:/.test(l) ? [[l.slice(0, l.indexOf(':')), l.slice(l.indexOf(':') + 1).trim()]] : []))))
    .filter((r) => r.Package);
}

export const apt: PkgBackend = {
  name: 'apt',

  async installed(names): Promise<Read<Versions>> {
    const out: Versions = new Map(names.map((n) => [n, undefined]));
    // Exit 1 only means some names are unknown to dpkg: those are simply not installed.
    const r = await capture(['dpkg-query', '-W', '-f=Package: ${Package}\nArchitecture: ${Architecture}\nStatus: ${db:Status-Abbrev}\nVersion: ${Version}\n\n', '--', ...names], { env: ENV });
    if (r.spawnError) return { ok: false, error: { code: 'package.no-dpkg', message: `cannot run dpkg-query: ${r.spawnError}` } };
    for (const rec of records(r.stdout)) {
      if (!rec.Status.startsWith('ii')) continue;
      for (const key of [rec.Package, `${rec.Package}:${rec.Architecture}`]) if (out.has(key)) out.set(key, rec.Version);
    }
    return { ok: true, value: out };
  },

  async candidates(names): Promise<Read<Versions>> {
    const out: Versions = new Map(names.map((n) => [n, undefined]));
    // One at a time: apt-cache stops at the first unknown name.
    for (const n of names) {
      const r = await capture(['apt-cache', 'show', '--no-all-versions', n], { env: ENV });
      const rec = records(r.stdout)[0];
      if (r.code === 0 && rec?.Version) out.set(n, rec.Version);
    }
    return { ok: true, value: out };
  },

  async cacheAgeMs() {
    const mtimes: number[] = [];
    try {
      mtimes.push(statSync(STAMP).mtimeMs);
    } catch {
      // No stamp yet: the lists' own files tell when they were fetched.
      try {
        for (const f of readdirSync(LISTS)) if (/_(Packages|Sources)(\.\w+)?$|Release$/.test(f)) mtimes.push(statSync(join(LISTS, f)).mtimeMs);
      } catch {
        return undefined;
      }
    }
    return mtimes.length ? Date.now() - Math.max(...mtimes) : undefined;
  },

  async refresh(ctx): Promise<ApplyResult> {
    const r = await runArgv(['apt-get', 'update', '-q', ...LOCK], { env: ENV }, ctx);
    if (!r.ok) return r;
    try {
      mkdirSync('/var/lib/apt/periodic', { recursive: true });
      writeFileSync(STAMP, '');
    } catch {
      // Without the stamp the next run falls back to the lists' mtimes.
    }
    return r;
  },

  install(names, opts, ctx) {
    const recommends = opts.recommends === undefined ? [] : [opts.recommends ? '--install-recommends' : '--no-install-recommends'];
    // confdef/confold: keep a config file the operator edited rather than stop at a prompt.
    return runArgv(
      ['apt-get', 'install', '-y', '-q', ...LOCK, '-o', 'Dpkg::Options::=--force-confdef', '-o', 'Dpkg::Options::=--force-confold', ...recommends, '--', ...names],
      { env: ENV },
      ctx,
    );
  },

  remove(names, opts, ctx) {
    return runArgv(['apt-get', opts.purge ? 'purge' : 'remove', '-y', '-q', ...LOCK, '--', ...names], { env: ENV }, ctx);
  },
};
