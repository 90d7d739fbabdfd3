// The etcd registry: one key per instance, <prefix>/<service>/<host>/<id>, whose JSON value says
// where it is and how it is, attached to a lease of the instance's TTL. The lease is what makes a
// dead host's instances go away by themselves: whoever holds this Registry keeps the leases alive
// (etcd3 renews every third of the TTL), and when that process dies the keys expire with them.
import type { Etcd3, Lease } from 'etcd3';
import { isInstance } from '../../lang/registry-check.js';
import { loadEtcd3 } from './etcd-client.js';
import { etcdOptions, type EtcdBackend } from './etcd-options.js';
import { DEFAULT_PREFIX, done, instanceKey, sortInstances, trouble, type Instance, type Outcome, type Registry } from './types.js';

interface Held {
  lease: Lease;
  ttlSec: number;
  value: string;
  /** etcd said the lease is gone (expired while unreachable, revoked): the next register grants a new one. */
  lost: boolean;
}

const failure = (code: string, what: string, e: unknown): Outcome<never> => trouble(code, `etcd: ${what}: ${(e as Error).message ?? String(e)}`);

export async function etcdRegistry(backend: EtcdBackend): Promise<Outcome<Registry>> {
  const prefix = backend.prefix ?? DEFAULT_PREFIX;
  // Every call but the streams (watches, lease keepalives) has a deadline: a call that hangs on
  // an unreachable etcd would hold up withdrawing an unhealthy instance; the watcher tries again
  // at its next check anyway.
  const options = etcdOptions(backend);
  if (!options.ok) return options;
  let client: Etcd3;
  try {
    const { Etcd3 } = await loadEtcd3();
    client = new Etcd3(options.value);
  } catch (e) {
    return failure('registry.etcd-client', 'cannot create the client', e);
  }
  const held = new Map<string, Held>();
  const servicePrefix = (service: string) => `${prefix}/${service}/`;

  const list = async (service: string): Promise<Outcome<Instance[]>> => {
    try {
      const kvs = await client.getAll().prefix(servicePrefix(service)).strings();
      const out: Instance[] = [];
      for (const [key, v] of Object.entries(kvs)) {
        let value: unknown;
        try {
          value = JSON.parse(v);
        } catch {
          // A value someone else wrote under our prefix: not an instance.
          continue;
        }
        // Every host that may register may write any key: an entry counts only when it is well
        // formed (it ends up in haproxy.cfg and templates) and sits under its own service and host.
        if (isInstance(value) && key === instanceKey(prefix, value)) out.push(value);
      }
      return done(sortInstances(out));
    } catch (e) {
      return failure('registry.etcd-unreachable', `cannot list ${service}`, e);
    }
  };

  const registry: Registry = {
    kind: 'etcd',
    async register(instance, ttlMs) {
      const key = instanceKey(prefix, instance);
      const ttlSec = Math.max(1, Math.ceil(ttlMs / 1000));
      const value = JSON.stringify(instance);
      const h = held.get(key);
      if (h && !h.lost && h.ttlSec === ttlSec && h.value === value) return done(undefined);
      try {
        let entry = h && !h.lost && h.ttlSec === ttlSec ? h : undefined;
        if (!entry) {
          if (h) h.lease.release();
          const lease = client.lease(ttlSec, { autoKeepAlive: true });
          entry = { lease, ttlSec, value, lost: false };
          const e = entry;
          lease.on('lost', () => (e.lost = true));
        }
        await entry.lease.put(key).value(value);
        entry.value = value;
        held.set(key, entry);
        return done(undefined);
      } catch (e) {
        const h2 = held.get(key);
        if (h2) h2.lost = true;
        return failure('registry.etcd-unreachable', `cannot register ${key}`, e);
      }
    },
    async deregister(service, host, id) {
      const key = instanceKey(prefix, { service, host, id });
      const h = held.get(key);
      held.delete(key);
      try {
        // Delete first (it is what readers see); revoking the lease only tidies up.
        await client.delete().key(key);
        if (h) await h.lease.revoke().catch(() => h.lease.release());
        return done(undefined);
      } catch (e) {
        if (h) h.lease.release();
        return failure('registry.etcd-unreachable', `cannot deregister ${key}`, e);
      }
    },
    list,
    watch(service, cb) {
      let stopped = false;
      let last = '';
      let cancel: (() => Promise<void>) | undefined;
      const emit = async () => {
        const r = await list(service);
        if (stopped || !r.ok) return;
        const text = JSON.stringify(r.value);
        if (text !== last) {
          last = text;
          cb(r.value);
        }
      };
      // Every change (and every reconnect, which may have missed some) is answered with the whole
      // list: consumers render complete configs and never apply deltas they could get wrong.
      const start = async (): Promise<void> => {
        try {
          const w = await client.watch().prefix(servicePrefix(service)).create();
          if (stopped) return void w.cancel();
          cancel = () => w.cancel();
          w.on('put', () => void emit());
          w.on('delete', () => void emit());
          w.on('connected', () => void emit());
          w.on('error', () => {});
          void emit();
        } catch {
          if (!stopped) setTimeout(() => void start(), 1000).unref();
        }
      };
      void start();
      return () => {
        stopped = true;
        void cancel?.().catch(() => {});
      };
    },
    async close(opts) {
      for (const [key, h] of held) {
        if (opts?.handover) h.lease.release();
        else await client.delete().key(key).then(() => h.lease.revoke()).catch(() => h.lease.release());
      }
      held.clear();
      client.close();
    },
  };
  return done(registry);
}
