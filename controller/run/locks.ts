// Deploy locks for a run that changes hosts: every targeted host's lock is taken before anything
// runs anywhere, and when any host (or the playbook's fleet lock in etcd) is held by another run,
// the locks already taken are given back and the run stops: an operator expects a refused run to
// have touched nothing. While held, the locks are renewed; at the end (and after Ctrl-C) they are
// released. A controller that dies without releasing (SIGKILL, a cut network) stops renewing:
// its locks go stale when their TTL runs out and the next run takes them over, with a warning.
//
// Commands that change hosts call acquireRunLocks once their agents are up and before the first
// change (all targeted hosts in one call: all or nothing), and release() in a finally: apply and
// promote and rollback (controller/run/apply.ts) do; `berth run` takes each host's lock on its own
// (services/fleet-requests.ts: a locked host is refused, the others run the job).
// Check mode changes nothing and calls warnIfLocked.
import { currentRunId } from './origin.js';
import os from 'node:os';
import type { DeployLock, LockAnswer, LockOwner, LockRequest, WireError } from '../../protocol/agent-protocol.js';
import type { AgentClient } from '../agent/agent-client.js';
import { fromWire } from '../agent/start-agent.js';
import { ExitCode, type BerthError } from '../errors.js';

/**
 * A lock outlives its holder by this much at most. Long enough that a controller stalled for a
 * while (a slow network, a laptop lid closed briefly) keeps its locks through several missed
 * renewals; short enough that a crashed run blocks the next one for two minutes, not an hour.
 */
export const LOCK_TTL_MS = 2 * 60_000;
/** Renewed every quarter of the TTL: three renewals can be lost before a live run's lock goes stale. */
export const LOCK_RENEW_MS = 30_000;
/** Tests only: a short TTL so that a killed controller's lock goes stale in seconds. */
export const LOCK_TTL_ENV = 'BERTH_LOCK_TTL_MS';
/** A release must not hold up the end of a run on a host that stopped answering. */
const RELEASE_TIMEOUT_MS = 5000;

export function lockTtlMs(env: NodeJS.ProcessEnv = process.env): number {
  const v = Number(env[LOCK_TTL_ENV]);
  return Number.isFinite(v) && v >= 1000 ? v : LOCK_TTL_MS;
}

/** Who this run is: user@machine, pid, a fresh run id. */
export function lockOwner(command: string, opts: { reason?: string; playbook?: string } = {}): LockOwner {
  let user = process.env.USER ?? 'unknown';
  try {
    user = os.userInfo().username;
  } catch {
    // No passwd entry (a container's uid): keep $USER.
  }
  return { holder: `${user}@${os.hostname()}`, pid: process.pid, runId: currentRunId(), command, ...(opts.reason ? { reason: opts.reason } : {}), ...(opts.playbook ? { playbook: opts.playbook } : {}) };
}

export interface LockTarget {
  host: string;
  agent: AgentClient;
}

export interface LockWarning {
  host?: string;
  code: string;
  message: string;
  hint?: string;
}

export interface RunLocks {
  owner: LockOwner;
  /** Hosts whose lock this run holds. */
  hosts: string[];
  /** Hosts whose lock could not be taken for an error (not another run's lock): they sit the run out. */
  failed: LockRefusal[];
  /** The playbook's fleet lock in etcd, taken through this host's agent. */
  fleet?: { host: string; key: string };
  /** Stops renewing and gives every lock back; safe to call twice. */
  release(): Promise<void>;
}

/** A host whose lock (or through whom the fleet lock) is held by another run, or could not be taken. */
export interface LockRefusal {
  host: string;
  error: BerthError;
}

export interface AcquireOptions {
  owner: LockOwner;
  /** Take the playbook's fleet lock too, where a targeted host registers in etcd: the project name. */
  fleet?: string;
  ttlMs?: number;
  renewMs?: number;
  onWarning: (w: LockWarning) => void;
}

type Answer = { ok: true; value: LockAnswer } | { ok: false; error: WireError };

async function ask(agent: AgentClient, req: LockRequest, timeoutMs?: number): Promise<Answer> {
  const r = agent.request(req);
  const res = timeoutMs
    ? await Promise.race([r.done, new Promise<{ ok: false; error: WireError }>((resolve) => setTimeout(() => resolve({ ok: false, error: { code: 'lock.timeout', message: `no answer within ${timeoutMs} ms` } }), timeoutMs).unref())])
    : await r.done;
  return res.ok ? { ok: true, value: res.result as LockAnswer } : res;
}

/**
 * Takes the lock of every target (in parallel), then the fleet lock through the first target
 * (in the order given) that registers in etcd. All or nothing: on any refusal the locks taken
 * are released and the refusals returned, one per refused host.
 */
export async function acquireRunLocks(targets: LockTarget[], opts: AcquireOptions): Promise<{ ok: true; value: RunLocks } | { ok: false; error: LockRefusal[] }> {
  const ttlMs = opts.ttlMs ?? lockTtlMs();
  const renewMs = opts.renewMs ?? Math.min(LOCK_RENEW_MS, Math.floor(ttlMs / 4));
  const answers = await Promise.all(targets.map(async (t) => ({ t, a: await ask(t.agent, { method: 'lock.acquire', params: { owner: opts.owner, ttlMs } }) })));
  const held: LockTarget[] = [];
  const refusals: LockRefusal[] = [];
  const failed: LockRefusal[] = [];
  for (const { t, a } of answers) {
    // A host whose lock cannot be written (or whose agent died) fails alone, as a task would.
    if (!a.ok) failed.push({ host: t.host, error: { ...fromWire(a.error, t.host), exit: ExitCode.failed } });
    else if (!a.value.done) refusals.push({ host: t.host, error: heldError(t.host, a.value) });
    else {
      held.push(t);
      if (a.value.previous) opts.onWarning(takeoverWarning(t.host, a.value.previous, a.value.now));
    }
  }
  const locks = runLocks(held, failed, opts.owner, ttlMs, renewMs, opts.onWarning);
  if (refusals.length) {
    await locks.release();
    return { ok: false, error: refusals };
  }
  const through = opts.fleet ? answers.find(({ a }) => a.ok && a.value.etcd)?.t : undefined;
  if (through && opts.fleet) {
    const f = await ask(through.agent, { method: 'lock.acquire', params: { owner: opts.owner, ttlMs, fleet: opts.fleet } });
    if (!f.ok) {
      // etcd down: the host locks still keep two runs off each host; a fleet lock that blocked
      // every deploy while etcd is away would also block the one that brings it back.
      opts.onWarning({ host: through.host, code: 'lock.fleet-unavailable', message: `the fleet lock could not be taken: ${f.error.message}`, hint: 'the per-host locks are held; another controller may run this playbook on other hosts meanwhile' });
    } else if (!f.value.done) {
      await locks.release();
      return { ok: false, error: [{ host: through.host, error: heldError(through.host, f.value, opts.fleet) }] };
    } else {
      locks.fleet = { host: through.host, key: f.value.key ?? opts.fleet };
      locks.fleetAgent = through.agent;
      locks.fleetName = opts.fleet;
    }
  }
  locks.startRenewing();
  return { ok: true, value: locks };
}

interface Internal extends RunLocks {
  fleetAgent?: AgentClient;
  fleetName?: string;
  startRenewing(): void;
}

function runLocks(held: LockTarget[], failed: LockRefusal[], owner: LockOwner, ttlMs: number, renewMs: number, onWarning: (w: LockWarning) => void): Internal {
  let timer: NodeJS.Timeout | undefined;
  let released: Promise<void> | undefined;
  const lost = new Set<string>();
  const renewing = new Set<string>();
  const renewOne = async (host: string, agent: AgentClient, fleet?: string) => {
    const id = fleet ? `fleet:${host}` : host;
    // One renewal in flight per lock: a slow host does not pile them up.
    if (lost.has(id) || renewing.has(id)) return;
    renewing.add(id);
    const r = await ask(agent, { method: 'lock.renew', params: { runId: owner.runId, ttlMs, ...(fleet ? { fleet } : {}) } });
    renewing.delete(id);
    if (r.ok || released) return;
    // A lost connection is reported by the run itself; a lock taken away is news.
    if (r.error.code === 'agent.connection-lost' || r.error.code === 'agent.lost') return lost.add(id);
    if (r.error.code === 'lock.lost') lost.add(id);
    onWarning({ host, code: r.error.code, message: `could not renew the ${fleet ? 'fleet' : 'deploy'} lock: ${r.error.message}`, hint: r.error.code === 'lock.lost' ? 'another run may be changing this host at the same time' : undefined });
  };
  const locks: Internal = {
    owner,
    hosts: held.map((t) => t.host),
    failed,
    startRenewing() {
      timer = setInterval(() => {
        for (const t of held) void renewOne(t.host, t.agent);
        if (locks.fleet && locks.fleetAgent && locks.fleetName) void renewOne(locks.fleet.host, locks.fleetAgent, locks.fleetName);
      }, renewMs);
      timer.unref();
    },
    release() {
      released ??= (async () => {
        if (timer) clearInterval(timer);
        const jobs = held.map((t) => ask(t.agent, { method: 'lock.release', params: { runId: owner.runId } }, RELEASE_TIMEOUT_MS));
        if (locks.fleetAgent && locks.fleetName) jobs.push(ask(locks.fleetAgent, { method: 'lock.release', params: { runId: owner.runId, fleet: locks.fleetName } }, RELEASE_TIMEOUT_MS));
        await Promise.all(jobs);
      })();
      return released;
    },
  };
  return locks;
}

/** Check mode takes no lock, but says when another run holds one: what it plans may change under it. */
export async function warnIfLocked(targets: LockTarget[], opts: { fleet?: string; onWarning: (w: LockWarning) => void }): Promise<void> {
  const answers = await Promise.all(targets.map(async (t) => ({ t, a: await ask(t.agent, { method: 'lock.status', params: {} }) })));
  for (const { t, a } of answers) {
    if (a.ok && a.value.lock) onWarning(t.host, a.value);
  }
  const through = opts.fleet ? answers.find(({ a }) => a.ok && a.value.etcd)?.t : undefined;
  if (through && opts.fleet) {
    const f = await ask(through.agent, { method: 'lock.status', params: { fleet: opts.fleet } });
    if (f.ok && f.value.lock) onWarning(through.host, f.value, opts.fleet);
  }
  function onWarning(host: string, a: LockAnswer, fleet?: string) {
    const l = a.lock!;
    opts.onWarning({
      host,
      code: 'lock.held',
      message: `${fleet ? `the fleet lock ${a.key ?? fleet}` : 'this host'} is ${a.stale ? 'locked (stale: the next apply takes it over) ' : 'locked '}by ${describeHolder(l, a.now, a.stale)}`,
      hint: a.stale ? undefined : 'another run may be changing what this plan shows',
    });
  }
}

// ---------------------------------------------------------------------------------------------
// Words.

/** "alice@ctl (pid 4242, apply of demo) since 12:00:01 (42s ago), reason "hotfix", expires in 1m18s" */
export function describeHolder(l: DeployLock, hostNow: string, stale = false): string {
  const now = Date.parse(hostNow);
  const since = Date.parse(l.time);
  const exp = Date.parse(l.expiresAt) - now;
  const what = [`pid ${l.pid}`, `${l.command}${l.playbook ? ` of ${l.playbook}` : ''}`].join(', ');
  const reason = l.reason ? `, reason "${l.reason}"` : '';
  // Stale before its expiry: the agent that took it on the host is gone (killed).
  const expiry = exp <= 0 ? `expired ${span(-exp)} ago` : stale ? `its agent on the host (pid ${l.agentPid}) is gone` : `expires in ${span(exp)} unless renewed`;
  return `${l.holder} (${what}) since ${l.time} (${span(now - since)} ago)${reason}, ${expiry}`;
}

/** 42s, 3m05s, 2h10m */
export function span(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

function heldError(host: string, a: LockAnswer, fleet?: string): BerthError {
  const l = a.lock;
  const what = fleet ? `the fleet lock ${a.key ?? fleet} (etcd, through ${host})` : 'deploy lock';
  return {
    code: 'lock.held',
    message: l ? `${what} is held by ${describeHolder(l, a.now)}` : `${what} could not be taken (it changed hands while we looked): try again`,
    where: host,
    hint: fleet
      ? 'wait for that run to end, or, if it is gone, `berth lock release --force -p PLAYBOOK` (or let its lease run out)'
      : `wait for that run to end, or, if it is gone, \`berth lock release --force --limit ${host}\` with the same -i/-p (or let it expire)`,
    exit: ExitCode.failed,
  };
}

function takeoverWarning(host: string, prev: DeployLock, hostNow: string): LockWarning {
  return {
    host,
    code: 'lock.taken-over',
    message: `took over a stale deploy lock of ${describeHolder(prev, hostNow, true)}`,
    hint: 'that run ended without releasing its lock (killed, suspended, or its connection cut): this run converges what it left',
  };
}
