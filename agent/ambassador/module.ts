// `ambassador`: a local haproxy on this host that routes to the healthy instances of services,
// wherever in the fleet they run, as the registry lists them (SmartStack's synapse). An
// application reaches a dependency at localhost:PORT (the default, host network) or at
// ALIAS:PORT on the networks it names. haproxy comes from the host's package sources (Debian's
// haproxy) in an image berth builds on the host; the watcher keeps its config in step with the
// registry and reloads it without dropping established connections.
import { existsSync } from 'node:fs';
import { converged, defineModule, failed, type Change } from '../../modules/contract.js';
import { parseDuration } from '../../modules/lib/duration.js';
import { pkg } from '../../modules/package.js';
import { fieldProblem } from '../../lang/registry-check.js';
import { docker as dockerClient } from '../docker-client.js';
import { readHostConfig } from '../registry/host-config.js';
import { readJson, removeFile, writeJson } from '../registry/json-file.js';
import { openRegistry } from '../registry/open.js';
import { ensureWatcher, watcherPlan } from '../watcher/ensure.js';
import { ensureAmbassadorContainer, removeAmbassadorContainer, specHash } from './container.js';
import { HAPROXY, builtImage, ensureAmbassadorImage } from './image.js';
import { applyConfig, currentConfig } from './reload.js';
import { containerName, specPath, type AmbassadorSpec, type Listener } from './spec.js';
import { renderFromRegistry } from './sync.js';
import { ambassadorSchema } from '../../modules/params/ambassador.js';

export { ambassadorSchema };

export const ambassador = defineModule({
  name: 'ambassador',
  schema: ambassadorSchema,
  async plan(p, ctx) {
    const name = p.name ?? 'default';
    const docker = await dockerClient();
    if (p.state === 'absent') {
      const present = existsSync(specPath(name)) || (await docker.getContainer(containerName(name)).inspect().then(() => true, () => false));
      if (!present) return converged();
      return {
        ok: true,
        changes: [{
          summary: `remove ambassador ${name}`,
          cause: 'state: absent',
          apply: async () => {
            removeFile(specPath(name));
            await removeAmbassadorContainer(docker, name);
            await ensureWatcher(ctx.facts);
            return { ok: true };
          },
        }],
      };
    }
    const listeners: Listener[] = Object.entries(p.services).map(([service, l]) => ({
      service,
      port: l.port,
      bind: l.bind ?? (p.networks ? '0.0.0.0' : '127.0.0.1'),
      tags: l.tags ?? [],
      mode: l.mode ?? 'tcp',
      balance: l.balance ?? 'roundrobin',
    }));
    // Checked again once rendered (the schema lets templated values through): these are haproxy words.
    for (const l of listeners) {
      const bad = fieldProblem('service', l.service) ?? fieldProblem('address', l.bind) ?? fieldProblem('tags', l.tags);
      if (bad) return failed('ambassador.params', `services.${l.service}: ${bad.replace(/^address/, 'bind').replace(/^service/, 'name')}`);
    }
    const ports = listeners.map((l) => l.port);
    const dup = ports.find((x, i) => ports.indexOf(x) !== i);
    if (dup !== undefined) return failed('ambassador.params', `two services listen on port ${dup}`);
    const c = typeof p.check === 'object' ? p.check : {};
    const intervalMs = c.interval === undefined ? 2000 : parseDuration(c.interval);
    if (intervalMs === undefined) return failed('ambassador.params', `check.interval: "${String(c.interval)}" is not a duration`);
    const network: AmbassadorSpec['network'] = p.networks
      ? { mode: 'networks', networks: p.networks.map((n) => ({ name: n.name, aliases: n.aliases ?? listeners.map((l) => l.service) })) }
      : { mode: 'host' };
    // retries only when given: the spec of an ambassador that does not say stays what it was.
    const base = { name, listeners, network, check: { enabled: p.check !== false, intervalMs, fall: c.fall ?? 2, rise: c.rise ?? 1 }, ...(p.retries !== undefined ? { retries: p.retries } : {}) };

    const changes: Change[] = [];
    const haveHaproxy = existsSync(HAPROXY);
    if (!haveHaproxy) {
      const install = await pkg.plan({ name: 'haproxy', repo: p.repo, update_cache: true, cache_valid_time: '1h' }, ctx);
      if (!install.ok) return install;
      changes.push(...install.changes.map((ch) => ({ ...ch, summary: `${ch.summary} (haproxy for the ambassador image)` })));
    }
    // The image tag is a hash of the files it is made of: known only once haproxy is installed.
    let image = haveHaproxy ? await builtImage(docker) : undefined;
    const specFor = (img: string): AmbassadorSpec => ({ ...base, image: img });
    const current = await docker.getContainer(containerName(name)).inspect().catch(() => undefined);
    const upToDate =
      image !== undefined &&
      current?.State.Running === true &&
      current.Config.Labels?.['berth.ambassador.hash'] === specHash(specFor(image)) &&
      JSON.stringify(readJson(specPath(name))) === JSON.stringify(specFor(image));
    const config = await renderNow(specFor(image ?? 'unbuilt'));
    if (!config.ok) return failed('ambassador.registry', config.message);
    const configSame = currentConfig(name) === config.text;
    const w = watcherPlan();
    const data = { container: containerName(name), listeners: listeners.map((l) => `${l.bind}:${l.port} -> ${l.service}`), instances: config.counts };
    if (upToDate && configSame && w.action === 'running') return converged(data);

    changes.push({
      summary: `ambassador ${name}: ${listeners.map((l) => `${l.service} on ${network.mode === 'host' ? l.bind : 'networks'}:${l.port}`).join(', ')} (${Object.entries(config.counts).map(([s, n]) => `${n} ${s}`).join(', ')})`,
      cause: !current ? 'not running' : !upToDate ? 'container or settings differ' : !configSame ? 'registry changed' : 'watcher not running',
      apply: async () => {
        if (!image) {
          const built = await ensureAmbassadorImage(docker, (l) => ctx.output('stdout', l));
          if (!built.ok) return { ok: false, error: { code: 'ambassador.image', message: built.message, detail: 'detail' in built ? built.detail : undefined } };
          image = built.tag;
        }
        const spec = specFor(image);
        const text = await renderNow(spec);
        if (!text.ok) return { ok: false, error: { code: 'ambassador.registry', message: text.message } };
        // Config first: a new container starts on it, a running one reloads into it.
        const cfg = await applyConfig(docker, name, text.text, { reload: true });
        if (!cfg.ok) return { ok: false, error: { code: 'ambassador.config', message: cfg.message, detail: cfg.detail } };
        writeJson(specPath(name), spec);
        const ct = await ensureAmbassadorContainer(docker, spec);
        if (!ct.ok) return { ok: false, error: { code: 'ambassador.container', message: ct.message } };
        const wr = await ensureWatcher(ctx.facts);
        if (!wr.ok) return wr;
        return { ok: true, data: { ...data, image, action: ct.action } };
      },
    });
    return { ok: true, changes, data };
  },
});

async function renderNow(spec: AmbassadorSpec) {
  const config = readHostConfig();
  const reg = await openRegistry(config.backend, config.host);
  if (!reg.ok) return { ok: false as const, message: reg.error.message };
  try {
    return await renderFromRegistry(spec, reg.value);
  } finally {
    await reg.value.close({ handover: true });
  }
}
