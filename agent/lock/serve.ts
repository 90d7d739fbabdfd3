// lock.* requests: the host's lock file, or with `fleet` the playbook's lock in etcd. This agent
// also keeps watch over the host locks it took: when the controller stops renewing one (hung,
// or its connection silently gone) the run's right to change the host ends with it, so the
// agent stops the run after its current task; when the controller is gone and the agent's work
// is done, it releases them (releaseHeld).
import type { LockAnswer, LockRequest, WireError } from '../../protocol/agent-protocol.js';
import { acquireFleetLock, fleetLockStatus, hasEtcd, releaseAllFleetLocks, releaseFleetLock, renewFleetLock } from './fleet-lock.js';
import { acquireHostLock, hostLockStatus, releaseHostLock, renewHostLock, type LockOutcome } from './host-lock.js';

export interface LockHooks {
  /** A lock this agent holds expired without renewal: stop what runs, after its current task. */
  expired(): void;
}

/** Runs whose host lock this agent took and that have not let go of it, with their expiry timer. */
const heldHere = new Map<string, NodeJS.Timeout>();

export async function serveLockRequest(req: LockRequest, hooks: LockHooks): Promise<{ ok: true; result: LockAnswer } | { ok: false; error: WireError }> {
  try {
    const r = await dispatch(req);
    if (!req.params.fleet) track(req, r, hooks);
    return r.ok ? { ok: true, result: { ...r.answer, etcd: hasEtcd() } } : r;
  } catch (e) {
    // The lock file cannot be written (permissions, a full disk): say so, as the host's failure.
    return { ok: false, error: { code: 'lock.io', message: `deploy lock: ${(e as Error).message}` } };
  }
}

function dispatch(req: LockRequest): LockOutcome | Promise<LockOutcome> {
  const fleet = req.params.fleet;
  switch (req.method) {
    case 'lock.acquire':
      return fleet ? acquireFleetLock(fleet, req.params.owner, req.params.ttlMs) : acquireHostLock(req.params.owner, req.params.ttlMs);
    case 'lock.renew':
      return fleet ? renewFleetLock(req.params.runId, req.params.ttlMs, fleet) : renewHostLock(req.params.runId, req.params.ttlMs);
    case 'lock.release':
      return fleet ? releaseFleetLock(req.params, fleet) : releaseHostLock(req.params);
    case 'lock.status':
      return fleet ? fleetLockStatus(fleet) : hostLockStatus();
  }
}

function track(req: LockRequest, r: LockOutcome, hooks: LockHooks): void {
  const forget = (runId: string) => {
    clearTimeout(heldHere.get(runId));
    heldHere.delete(runId);
  };
  if ((req.method === 'lock.acquire' || req.method === 'lock.renew') && r.ok && r.answer.done && r.answer.lock) {
    const runId = r.answer.lock.runId;
    forget(runId);
    const timer = setTimeout(() => {
      heldHere.delete(runId);
      hooks.expired();
    }, Math.max(0, Date.parse(r.answer.lock.expiresAt) - Date.now()));
    timer.unref();
    heldHere.set(runId, timer);
  } else if (req.method === 'lock.release' && req.params.runId) forget(req.params.runId);
  else if (req.method === 'lock.renew' && !r.ok && r.error.code === 'lock.lost') forget(req.params.runId);
}

let releasing: Promise<void> | undefined;

/**
 * The controller went away without releasing (killed, its connection cut) and the last of its
 * work here is done: nothing of that run can happen on this host any more, so its locks go now
 * instead of blocking the next run until they expire. (An agent killed itself releases nothing:
 * the next run sees that the lock's agent is gone, see host-lock.ts.)
 */
export function releaseHeld(): Promise<void> {
  releasing ??= (async () => {
    for (const [runId, timer] of heldHere) {
      clearTimeout(timer);
      try {
        releaseHostLock({ runId });
      } catch {
        // Left to expire.
      }
    }
    heldHere.clear();
    await releaseAllFleetLocks();
  })();
  return releasing;
}
