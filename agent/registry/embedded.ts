// The embedded registry: no server anywhere. Each host keeps its own registrations as files
// (<registry>/embedded/<service>/<id>.json, each with an expiry that its holder keeps pushing
// forward), and knows the other hosts' instances from the fleet view the controller gathers and
// pushes at every apply (<registry>/fleet.json). So a host sees its own instances come and go at
// once, and the rest of the fleet as of the last apply; docs/registry.md says where that ends.
import { mkdirSync, readdirSync, watch, type FSWatcher } from 'node:fs';
import { join } from 'node:path';
import { isInstance } from '../../lang/registry-check.js';
import { readJson, readJsonDir, removeFile, writeJson } from './json-file.js';
import { embeddedDir, fileName, fleetPath, registryDir } from './paths.js';
import type { FleetView } from '../../protocol/agent-protocol.js';
import { done, sortInstances, type Instance, type Outcome, type Registry } from './types.js';

interface Entry {
  instance: Instance;
  /** Epoch ms after which the registration no longer counts (its holder stopped renewing). */
  expiresAt: number;
}

export type { FleetView } from '../../protocol/agent-protocol.js';

const entryPath = (service: string, id: string) => join(embeddedDir(), fileName(service), `${fileName(id)}.json`);

/** This host's live registrations, every service (what the controller gathers for the fleet view). */
export function localEntries(now = Date.now()): Instance[] {
  const dir = embeddedDir();
  const services = subdirs(dir);
  return sortInstances(services.flatMap((s) => readJsonDir<Entry>(join(dir, s)).filter((e) => e.value.expiresAt > now).map((e) => e.value.instance)));
}

function subdirs(dir: string): string[] {
  try {
    return readdirSync(dir).filter((n) => !n.startsWith('.'));
  } catch {
    return [];
  }
}

export function writeFleetView(view: FleetView): void {
  writeJson(fleetPath(), view);
}

export function readFleetView(): FleetView | undefined {
  return readJson<FleetView>(fleetPath());
}

export function embeddedRegistry(localHost: string): Registry {
  const renewals = new Map<string, { timer: NodeJS.Timeout; service: string; id: string; same: string }>();

  const list = async (service: string): Promise<Outcome<Instance[]>> => {
    const now = Date.now();
    const local = readJsonDir<Entry>(join(embeddedDir(), fileName(service))).filter((e) => e.value.expiresAt > now).map((e) => e.value.instance).filter(isInstance);
    // The fleet view also lists this host as the controller last saw it: the files are fresher.
    // The controller checked what it pushed; a view that fails the schema now was not its doing.
    const remote = (readFleetView()?.instances ?? []).filter((i) => isInstance(i) && i.service === service && i.host !== localHost);
    return done(sortInstances([...local, ...remote]));
  };

  return {
    kind: 'embedded',
    async register(instance, ttlMs) {
      const path = entryPath(instance.service, instance.id);
      const key = `${instance.service}/${instance.id}`;
      // The watcher registers a healthy instance on every check: unchanged, the renewal timer has it.
      const same = JSON.stringify({ instance, ttlMs });
      if (renewals.get(key)?.same === same && readJson<Entry>(path)) return done(undefined);
      const prev = readJson<Entry>(path);
      // A renewal keeps the original registration time: `berth services` shows how long it has been up.
      const registeredAt = prev && prev.expiresAt > Date.now() ? prev.instance.registeredAt : instance.registeredAt;
      const write = () => writeJson(path, { instance: { ...instance, registeredAt }, expiresAt: Date.now() + ttlMs } satisfies Entry);
      write();
      clearInterval(renewals.get(key)?.timer);
      const timer = setInterval(write, Math.max(200, ttlMs / 3));
      timer.unref();
      renewals.set(key, { timer, service: instance.service, id: instance.id, same });
      return done(undefined);
    },
    async deregister(service, _host, id) {
      const key = `${service}/${id}`;
      clearInterval(renewals.get(key)?.timer);
      renewals.delete(key);
      removeFile(entryPath(service, id));
      return done(undefined);
    },
    list,
    watch(service, cb) {
      const dir = join(embeddedDir(), fileName(service));
      mkdirSync(dir, { recursive: true });
      mkdirSync(registryDir(), { recursive: true });
      let last = '';
      let timer: NodeJS.Timeout | undefined;
      const emit = async () => {
        const r = await list(service);
        if (!r.ok) return;
        const text = JSON.stringify(r.value);
        if (text !== last) {
          last = text;
          cb(r.value);
        }
      };
      // Several file events arrive per rename: look once they settle.
      const soon = () => {
        clearTimeout(timer);
        timer = setTimeout(() => void emit(), 20);
      };
      const watchers: FSWatcher[] = [watch(dir, soon), watch(registryDir(), (_e, name) => name === 'fleet.json' && soon())];
      // Registrations whose holder died run out without any file event.
      const expiry = setInterval(() => void emit(), 1000);
      expiry.unref();
      void emit();
      return () => {
        clearTimeout(timer);
        clearInterval(expiry);
        for (const w of watchers) w.close();
      };
    },
    async close(opts) {
      for (const r of renewals.values()) {
        clearInterval(r.timer);
        if (!opts?.handover) removeFile(entryPath(r.service, r.id));
      }
      renewals.clear();
    },
  };
}
