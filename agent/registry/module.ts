// `registry`: which registry this host registers its healthy instances in, and the watcher that
// keeps them there. Embedded (the default) needs no server; etcd needs its endpoints. Changing
// the settings or upgrading berth restarts the watcher on the new version without withdrawing
// anything (it hands over); `state: stopped` withdraws every registration and stops it.
import { converged, defineModule, failed, type Change } from '../../modules/contract.js';
import { parseDuration } from '../../modules/lib/duration.js';
import { fieldProblem } from '../../lang/registry-check.js';
import { liveWatcher } from '../watcher/pidfile.js';
import { ensureWatcher, stopWatcher, watcherPlan } from '../watcher/ensure.js';
import { DEFAULT_TTL_MS, primaryAddress, type HostRegistryConfig } from './host-config.js';
import { readJson, writeJson } from './json-file.js';
import { openRegistry } from './open.js';
import { configPath } from './paths.js';
import type { BackendConfig } from './types.js';
import os from 'node:os';
import { registrySchema } from '../../modules/params/registry.js';

export { registrySchema };

export const registryModule = defineModule({
  name: 'registry',
  schema: registrySchema,
  async plan(p, ctx) {
    if (p.state === 'stopped') {
      const w = liveWatcher();
      if (!w) return converged({ watcher: null });
      return { ok: true, changes: [{ summary: `stop the watcher (pid ${w.pid}) and withdraw its registrations`, cause: 'state: stopped', apply: async () => stopWatcher(w, 'SIGINT').then((r) => (r.ok ? { ok: true } : r)) }] };
    }
    const etcd = (p.backend ?? 'embedded') === 'etcd';
    if (!etcd && (p.tls || p.username || p.password)) return failed('registry.params', 'tls, username and password are for backend etcd');
    if ((p.username === undefined) !== (p.password === undefined)) return failed('registry.params', `${p.username === undefined ? 'password' : 'username'} needs ${p.username === undefined ? 'username' : 'password'} too`);
    if (p.tls && (p.tls.cert === undefined) !== (p.tls.key === undefined)) return failed('registry.params', `tls.${p.tls.cert === undefined ? 'key' : 'cert'} needs tls.${p.tls.cert === undefined ? 'cert' : 'key'} too: a client certificate goes with its key`);
    const backend: BackendConfig = etcd
      ? {
          kind: 'etcd',
          endpoints: p.endpoints ?? [],
          ...(p.prefix ? { prefix: p.prefix } : {}),
          ...(p.tls ? { tls: p.tls } : {}),
          ...(p.username !== undefined && p.password !== undefined ? { auth: { username: p.username, password: p.password } } : {}),
        }
      : { kind: 'embedded' };
    if (backend.kind === 'etcd' && backend.endpoints.length === 0) return failed('registry.params', 'backend etcd needs endpoints, e.g. endpoints: ["http://10.0.0.5:2379"]');
    const ttlMs = p.ttl === undefined ? DEFAULT_TTL_MS : parseDuration(p.ttl);
    if (ttlMs === undefined || ttlMs < 1000) return failed('registry.params', `ttl: "${String(p.ttl)}" is not a duration of 1s or more`);
    const want: HostRegistryConfig = { backend, host: p.host ?? os.hostname(), address: p.address ?? primaryAddress(), ttlMs };
    // Checked again once rendered: the schema lets a templated value through to here.
    const bad = fieldProblem('host', want.host) ?? fieldProblem('address', want.address);
    if (bad) return failed('registry.params', bad.startsWith('host') ? `host (this host's registry name) ${bad.slice(6)}` : bad, 'registry names and addresses are single words: they end up in other hosts\' configs');
    const have = readJson<HostRegistryConfig>(configPath());
    const changes: Change[] = [];
    const data = { backend: backend.kind, host: want.host, address: want.address, ttlMs };
    if (JSON.stringify(have) !== JSON.stringify(want)) {
      changes.push({
        summary: `registry: ${backend.kind}${backend.kind === 'etcd' ? ` at ${backend.endpoints.join(', ')}` : ''} as ${want.host} (${want.address}), ttl ${ttlMs / 1000}s`,
        cause: have ? 'settings differ' : 'not configured',
        diff: ctx.diff ? `--- ${configPath()}\n+++ ${configPath()}\n-${JSON.stringify(shown(have) ?? null)}\n+${JSON.stringify(shown(want))}\n` : undefined,
        apply: async () => {
          // An unreachable etcd is said now, by the task, not later in the watcher's log.
          if (backend.kind === 'etcd') {
            const reg = await openRegistry(backend, want.host);
            if (!reg.ok) return reg;
            const probe = await reg.value.list('berth-probe');
            await reg.value.close({ handover: true });
            if (!probe.ok) return { ok: false, error: { ...probe.error, message: `etcd at ${backend.endpoints.join(', ')} does not answer: ${probe.error.message}` } };
          }
          writeJson(configPath(), want);
          return { ok: true };
        },
      });
    }
    const w = watcherPlan();
    if (w.action !== 'running' || changes.length > 0) {
      changes.push({
        summary: w.action === 'started' ? 'start the watcher' : w.action === 'replaced' ? `replace the watcher (pid ${w.pid}, agent ${w.from?.slice(0, 12)}) with this agent's` : `reload the watcher (pid ${w.pid})`,
        cause: w.action === 'started' ? 'not running' : w.action === 'replaced' ? 'berth was upgraded' : 'settings changed',
        apply: async () => {
          const r = await ensureWatcher(ctx.facts);
          return r.ok ? { ok: true, data: { watcher: r.value } } : r;
        },
      });
    }
    return { ok: true, changes, data: { ...data, watcher: w.pid ?? null } };
  },
});

/** The settings as a diff shows them: the etcd password is not printed. */
function shown(c: HostRegistryConfig | undefined): HostRegistryConfig | undefined {
  if (c?.backend.kind !== 'etcd' || !c.backend.auth) return c;
  return { ...c, backend: { ...c.backend, auth: { ...c.backend.auth, password: '********' } } };
}
