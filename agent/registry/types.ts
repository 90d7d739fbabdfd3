// The registry as every part of berth sees it, whatever backend holds it: an instance is one
// healthy container of a service, reachable at address:port, registered with a time to live
// that its host keeps renewing. Backends: embedded (no server, files on each host) and etcd.
import type { ServiceInstance, WireError } from '../../protocol/agent-protocol.js';

/** An instance: one healthy container of a service (declared in the protocol: the controller reads them too). */
export type Instance = ServiceInstance;

export type Outcome<T = void> = { ok: true; value: T } | { ok: false; error: WireError };

export const done = <T>(value: T): Outcome<T> => ({ ok: true, value });
export const trouble = (code: string, message: string, detail?: string): Outcome<never> => ({ ok: false, error: { code, message, detail } });

export interface Registry {
  readonly kind: 'embedded' | 'etcd';
  /**
   * Registers (or updates) an instance that lives `ttlMs` unless renewed. This Registry renews it
   * for as long as it is open; closing it with `handover` leaves it to run out on its own.
   */
  register(instance: Instance, ttlMs: number): Promise<Outcome>;
  deregister(service: string, host: string, id: string): Promise<Outcome>;
  /** Instances of `service` on every host. */
  list(service: string): Promise<Outcome<Instance[]>>;
  /** Calls `cb` with the full list now and whenever it changes. Returns a function that stops watching. */
  watch(service: string, cb: (instances: Instance[]) => void): () => void;
  /**
   * Stops renewing. `handover`: a new watcher takes over, so registrations stay until their TTL;
   * otherwise they are withdrawn first.
   */
  close(opts?: { handover?: boolean }): Promise<void>;
}

export type BackendConfig =
  | { kind: 'embedded' }
  | {
      kind: 'etcd';
      /** e.g. ["http://10.0.0.1:2379"]. */
      endpoints: string[];
      /** Key prefix (default /berth/services). */
      prefix?: string;
      /** Files on this host: the CA that signed etcd's certificate, and this client's certificate and key. */
      tls?: { ca?: string; cert?: string; key?: string };
      /** etcd's own users (`etcdctl user add`, `auth enable`). */
      auth?: { username: string; password: string };
    };

// Defined with the registry module's schema, whose `prefix` default it is.
export { DEFAULT_PREFIX } from '../../modules/params/registry.js';

/** The key of an instance in a key-value backend: <prefix>/<service>/<host>/<id>. */
export const instanceKey = (prefix: string, i: Pick<Instance, 'service' | 'host' | 'id'>): string => `${prefix}/${i.service}/${i.host}/${i.id}`;

/** Instances in a stable order, so that configs rendered from them only change when they do. */
export const sortInstances = (list: Instance[]): Instance[] =>
  [...list].sort((a, b) => a.service.localeCompare(b.service) || a.host.localeCompare(b.host) || a.id.localeCompare(b.id));
