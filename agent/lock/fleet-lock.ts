// The fleet lock of a playbook, where hosts register in etcd: the key /berth/locks/<playbook>,
// created only if absent (a transaction on its create revision) and attached to a lease. The
// lease is renewed only when the controller renews the lock (no automatic keepalive): when the
// controller dies or hangs, the lease runs out and etcd deletes the key, so the lock is never
// stale. This agent keeps the client and the lease between the acquire, renewals and release.
import type { Etcd3, Lease } from 'etcd3';
import type { DeployLock, LockAnswer, LockOwner, WireError } from '../../protocol/agent-protocol.js';
import { loadEtcd3 } from '../registry/etcd-client.js';
import { CALL_TIMEOUT_MS, etcdOptions, type EtcdBackend } from '../registry/etcd-options.js';
import { readHostConfig } from '../registry/host-config.js';
import type { LockOutcome } from './host-lock.js';

export const fleetKey = (playbook: string): string => `/berth/locks/${playbook}`;

interface Held {
  client: Etcd3;
  lease: Lease;
  leaseId: string;
  key: string;
  lock: DeployLock;
}
/** By run id. */
const held = new Map<string, Held>();

const iso = (ms: number) => new Date(ms).toISOString();
type Answer = Omit<LockAnswer, 'etcd'>;
const none = (): LockOutcome => ({ ok: true, answer: { backend: 'none', done: false, lock: null, now: iso(Date.now()) } });
const trouble = (what: string, e: unknown): LockOutcome => ({ ok: false, error: { code: 'lock.etcd', message: `etcd: ${what}: ${(e as Error).message ?? String(e)}` } });

/** The host's etcd (its registry's), with the TLS and user it was given; none: no fleet lock here. */
function endpoints(): EtcdBackend | undefined {
  const b = readHostConfig().backend;
  return b.kind === 'etcd' && b.endpoints.length ? b : undefined;
}

async function connect(backend: EtcdBackend): Promise<Etcd3> {
  const options = etcdOptions(backend);
  if (!options.ok) throw new Error(options.error.message.replace(/^etcd: /, ''));
  const { Etcd3 } = await loadEtcd3();
  return new Etcd3(options.value);
}

/** Streams (keepaliveOnce) have no deadline of their own. */
function within<T>(p: Promise<T>, what: string): Promise<T> {
  let t: NodeJS.Timeout;
  return Promise.race([p, new Promise<never>((_, reject) => (t = setTimeout(() => reject(new Error(`${what}: no answer within ${CALL_TIMEOUT_MS} ms`)), CALL_TIMEOUT_MS)))]).finally(() => clearTimeout(t));
}

function parse(value: string | null | undefined): DeployLock | null {
  if (!value) return null;
  try {
    return JSON.parse(value) as DeployLock;
  } catch {
    return { holder: 'unknown', pid: 0, runId: 'unreadable', command: 'unknown', reason: `not a berth lock: ${value.slice(0, 80)}`, time: iso(0), expiresAt: iso(0) };
  }
}

/** The lock under `key` with its expiry from its lease's remaining time to live. */
async function current(client: Etcd3, key: string): Promise<DeployLock | null> {
  const res = await client.get(key).exec();
  const kv = res.kvs[0];
  if (!kv) return null;
  const lock = parse(kv.value.toString());
  if (lock && kv.lease && kv.lease !== '0') {
    const ttl = await client.leaseClient.leaseTimeToLive({ ID: kv.lease }).catch(() => undefined);
    if (ttl && Number(ttl.TTL) >= 0) lock.expiresAt = iso(Date.now() + Number(ttl.TTL) * 1000);
  }
  return lock;
}

export async function acquireFleetLock(playbook: string, owner: LockOwner, ttlMs: number): Promise<LockOutcome> {
  const hosts = endpoints();
  if (!hosts) return none();
  const key = fleetKey(playbook);
  const mine = held.get(owner.runId);
  if (mine && mine.key === key) return renewFleetLock(owner.runId, ttlMs, playbook);
  let client: Etcd3 | undefined;
  try {
    client = await connect(hosts);
    // etcd counts leases in whole seconds.
    const ttlSec = Math.max(2, Math.ceil(ttlMs / 1000));
    const lease = client.lease(ttlSec, { autoKeepAlive: false });
    const leaseId = await lease.grant();
    const now = Date.now();
    const lock: DeployLock = { ...owner, time: iso(now), expiresAt: iso(now + ttlSec * 1000) };
    const res = await client.if(key, 'Create', '==', 0).then(client.put(key).value(JSON.stringify(lock)).lease(leaseId)).else(client.get(key)).commit();
    if (res.succeeded) {
      held.set(owner.runId, { client, lease, leaseId, key, lock });
      return { ok: true, answer: { backend: 'etcd', done: true, lock, key, now: iso(now) } };
    }
    await lease.revoke().catch(() => {});
    const holder = await current(client, key);
    client.close();
    return { ok: true, answer: { backend: 'etcd', done: false, lock: holder, key, now: iso(Date.now()) } };
  } catch (e) {
    client?.close();
    return trouble(`cannot take the fleet lock ${key}`, e);
  }
}

export async function renewFleetLock(runId: string, ttlMs: number, playbook: string): Promise<LockOutcome> {
  const h = held.get(runId);
  const key = fleetKey(playbook);
  if (!h || h.key !== key) return { ok: false, error: { code: 'lock.lost', message: `this run does not hold the fleet lock ${key}` } };
  try {
    const res = await within(h.lease.keepaliveOnce(), 'renewing the lease');
    // Released by force: the key is gone, or is someone else's now.
    const kv = (await h.client.get(key).exec()).kvs[0];
    if (!kv || kv.lease !== h.leaseId) {
      held.delete(runId);
      await h.lease.revoke().catch(() => {});
      h.client.close();
      const other = kv ? parse(kv.value.toString()) : null;
      return { ok: false, error: lost(key, other) };
    }
    const now = Date.now();
    h.lock = { ...h.lock, expiresAt: iso(now + Number(res.TTL) * 1000) };
    void ttlMs; // the lease's TTL was set when it was granted
    return { ok: true, answer: { backend: 'etcd', done: true, lock: h.lock, key, now: iso(now) } };
  } catch (e) {
    if (h.lease.revoked()) {
      held.delete(runId);
      h.client.close();
      return { ok: false, error: lost(key, null) };
    }
    return trouble(`cannot renew the fleet lock ${key}`, e);
  }
}

function lost(key: string, other: DeployLock | null): WireError {
  return { code: 'lock.lost', message: other ? `the fleet lock ${key} is no longer this run's: ${other.holder} (pid ${other.pid}) holds it since ${other.time}` : `the fleet lock ${key} is gone (its lease ran out, or it was released with \`berth lock release --force\`)` };
}

export async function releaseFleetLock(opts: { runId?: string; force?: boolean }, playbook: string): Promise<LockOutcome> {
  const key = fleetKey(playbook);
  const h = opts.runId ? held.get(opts.runId) : undefined;
  if (h && h.key === key && !opts.force) {
    held.delete(opts.runId!);
    try {
      // Revoking the lease deletes the key with it.
      await h.lease.revoke();
      return { ok: true, answer: { backend: 'etcd', done: true, lock: null, previous: h.lock, key, now: iso(Date.now()) } };
    } catch (e) {
      return trouble(`cannot release the fleet lock ${key} (it runs out with its lease)`, e);
    } finally {
      h.client.close();
    }
  }
  if (h && h.key === key) {
    held.delete(opts.runId!);
    h.client.close();
  }
  const hosts = endpoints();
  if (!hosts) return none();
  let client: Etcd3 | undefined;
  try {
    client = await connect(hosts);
    const kv = (await client.get(key).exec()).kvs[0];
    if (!kv) return { ok: true, answer: { backend: 'etcd', done: false, lock: null, key, now: iso(Date.now()) } };
    const lock = parse(kv.value.toString());
    if (!opts.force && lock?.runId !== opts.runId) return { ok: true, answer: { backend: 'etcd', done: false, lock, key, now: iso(Date.now()) } };
    // Revoke the holder's lease too: its next renewal learns at once that the lock is gone.
    await client.delete().key(key).exec();
    if (kv.lease && kv.lease !== '0') await client.leaseClient.leaseRevoke({ ID: kv.lease }).catch(() => {});
    return { ok: true, answer: { backend: 'etcd', done: true, lock: null, previous: lock ?? undefined, key, now: iso(Date.now()) } };
  } catch (e) {
    return trouble(`cannot release the fleet lock ${key}`, e);
  } finally {
    client?.close();
  }
}

export async function fleetLockStatus(playbook: string): Promise<LockOutcome> {
  const hosts = endpoints();
  if (!hosts) return none();
  const key = fleetKey(playbook);
  let client: Etcd3 | undefined;
  try {
    client = await connect(hosts);
    const lock = await current(client, key);
    const answer: Answer = { backend: 'etcd', done: true, lock, stale: false, key, now: iso(Date.now()) };
    return { ok: true, answer };
  } catch (e) {
    return trouble(`cannot read the fleet lock ${key}`, e);
  } finally {
    client?.close();
  }
}

/** Revokes every lease this agent holds (its controller is gone), each within the call timeout. */
export async function releaseAllFleetLocks(): Promise<void> {
  const all = [...held.values()];
  held.clear();
  await Promise.all(
    all.map(async (h) => {
      await within(h.lease.revoke(), 'revoking the lease').catch(() => {});
      h.client.close();
    }),
  );
}

/** Whether this host registers in etcd: the controller takes the fleet lock through such a host. */
export const hasEtcd = (): boolean => endpoints() !== undefined;
