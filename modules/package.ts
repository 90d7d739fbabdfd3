// `package`: system packages through the host's package manager (apt; dnf and apk untested).
// Installed state comes from the package database; the lists are refreshed only when asked
// and due, or when a repository this task manages changed.
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { defineModule, failed, type ApplyResult, type Change, type ModuleContext } from './contract.js';
import { writeAtomic } from './lib/atomic-write.js';
import { parseDuration } from './lib/duration.js';
import { onPath } from './lib/exec.js';
import { apk } from './lib/pkg-apk.js';
import { apt } from './lib/pkg-apt.js';
import { splitPin, type PkgBackend } from './lib/pkg-backend.js';
import { dnf } from './lib/pkg-dnf.js';
import { packageSchema, type PackageParams } from './params/package.js';

export { packageSchema, type PackageParams };

/** Where a `repo` line is kept: named by its hash, so the same line is never written twice. */
export const repoFile = (line: string) => `/etc/apt/sources.list.d/berth-${createHash('sha256').update(line.trim()).digest('hex').slice(0, 12)}.list`;

async function backendFor(ctx: ModuleContext): Promise<PkgBackend | undefined> {
  const byFamily = { debian: apt, redhat: dnf, alpine: apk } as const;
  if (ctx.facts.os.family !== 'unknown') return byFamily[ctx.facts.os.family];
  for (const b of [apt, dnf, apk]) if (await onPath(b.name === 'apt' ? 'apt-get' : b.name)) return b;
  return undefined;
}

export const pkg = defineModule({
  name: 'package',
  schema: packageSchema,
  async plan(p, ctx) {
    const backend = await backendFor(ctx);
    if (!backend) return failed('package.no-manager', `no supported package manager on this host (os ${ctx.facts.os.id}); berth knows apt, dnf and apk`);
    const specs = p.name === undefined ? [] : Array.isArray(p.name) ? p.name : [p.name];
    const state = p.state ?? 'present';
    const changes: Change[] = [];

    let repoChanged = false;
    if (p.repo !== undefined) {
      if (backend.name !== 'apt') return failed('package.repo-unsupported', `repo is an apt source line; this host uses ${backend.name}`);
      const file = repoFile(p.repo);
      const text = `# managed by berth\n${p.repo.trim()}\n`;
      if ((await readFile(file, 'utf8').catch(() => null)) !== text) {
        repoChanged = true;
        changes.push({ summary: `add apt source ${p.repo.trim()}`, cause: `${file} missing or different`, apply: () => writeAtomic(file, { data: text }, { mode: 0o644 }) });
      }
    }

    let validMs: number | undefined;
    if (p.cache_valid_time !== undefined) {
      validMs = parseDuration(p.cache_valid_time);
      if (validMs === undefined) return failed('package.bad-duration', `cache_valid_time "${p.cache_valid_time}" is not a duration ("1h", "30m" or seconds)`);
    }
    const age = p.update_cache || repoChanged ? await backend.cacheAgeMs() : 0;
    const refreshDue = repoChanged || (!!p.update_cache && (validMs === undefined || age === undefined || age > validMs));
    const why = repoChanged ? 'a new source' : age === undefined ? 'never fetched' : `${Math.round(age / 60000)} min old`;

    const pins = specs.map(splitPin);
    const names = pins.map((x) => x.name);
    const installed = names.length ? await backend.installed(names) : { ok: true as const, value: new Map<string, string | undefined>() };
    if (!installed.ok) return installed;
    const have = installed.value;

    if (state === 'absent') {
      const gone = names.filter((n) => have.get(n) !== undefined);
      if (gone.length) changes.push({ summary: `${p.purge ? 'purge' : 'remove'} ${gone.join(', ')}`, cause: 'installed', apply: () => backend.remove(gone, { purge: p.purge }, ctx) });
      return { ok: true, changes, data: { installed: Object.fromEntries(have) } };
    }

    const candidates = state === 'latest' ? await backend.candidates(names) : undefined;
    if (candidates && !candidates.ok) return candidates;
    const wanted = pins.filter(({ name, version }) => {
      const now = have.get(name);
      if (now === undefined) return true;
      if (version !== undefined) return now !== version;
      return state === 'latest' && candidates!.value.get(name) !== undefined && candidates!.value.get(name) !== now;
    });
    const install = wanted.map((x) => (x.version ? `${x.name}=${x.version}` : x.name));
    const refreshFirst = (then: () => Promise<ApplyResult>) => async (): Promise<ApplyResult> => {
      if (refreshDue) {
        const r = await backend.refresh(ctx);
        if (!r.ok) return r;
      }
      return then();
    };

    if (install.length) {
      // Without a pending refresh, a package the lists do not know fails now, not halfway.
      if (!refreshDue) {
        const known = candidates ?? (await backend.candidates(wanted.map((x) => x.name)));
        const unknown = known.ok ? wanted.filter((x) => known.value.get(x.name) === undefined).map((x) => x.name) : [];
        if (unknown.length) return failed('package.not-found', `no package ${unknown.join(', ')} in the ${backend.name} lists`, 'check the name, add its repository with repo:, or refresh the lists with update_cache: true');
      }
      changes.push({
        summary: `install ${install.join(', ')}${refreshDue ? ` (after refreshing the package lists: ${why})` : ''}`,
        cause: wanted.some((x) => have.get(x.name) !== undefined) ? 'not installed or outdated' : 'not installed',
        apply: refreshFirst(() => backend.install(install, { recommends: p.install_recommends }, ctx)),
      });
    } else if (refreshDue && state === 'latest' && names.length) {
      // Only fresh lists can tell whether a newer version exists: refresh, then look again.
      changes.push({
        summary: `refresh the package lists (${why}) and upgrade ${names.join(', ')} if newer`,
        cause: 'update_cache with state latest',
        apply: refreshFirst(async () => {
          const now = await backend.installed(names);
          const cand = await backend.candidates(names);
          if (!now.ok) return now;
          if (!cand.ok) return cand;
          const outdated = names.filter((n) => cand.value.get(n) !== undefined && cand.value.get(n) !== now.value.get(n));
          return outdated.length ? backend.install(outdated, { recommends: p.install_recommends }, ctx) : { ok: true };
        }),
      });
    } else if (refreshDue && names.length === 0) {
      changes.push({ summary: 'refresh the package lists', cause: why, apply: refreshFirst(async () => ({ ok: true })) });
    }
    return { ok: true, changes, data: { installed: Object.fromEntries(have) } };
  },
});
