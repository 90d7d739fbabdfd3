// The host's deploy lock: one JSON file in berth's directory on the host, who holds it and until
// when. Every change to it (take, take over, renew, release) reads, decides and writes under a
// short mutex: `lock.json.mutex`, created exclusively (a hard link of a complete temp file: an
// O_EXCL create that never shows a half-written file), held for the few milliseconds of the
// change. A bare exclusive create of lock.json would not do: taking over a stale lock is a
// compare-and-swap, and many contenders racing for one stale lock must leave exactly one holder.
// Writes are a temp file renamed over lock.json, so `status` reads without the mutex.
//
// A lock is stale once its expiresAt passed (its controller stopped renewing it: suspended, its
// network cut) or once the agent that took it is gone from this host (killed): then the next run
// takes it over. Times are this host's clock: the controller's may be skewed.
import { randomBytes } from 'node:crypto';
import { linkSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { DeployLock, LockAnswer, LockOwner, WireError } from '../../protocol/agent-protocol.js';
import { berthDir } from '../registry/paths.js';

export const lockPath = (): string => join(berthDir(), 'lock.json');

export type LockOutcome = { ok: true; answer: Omit<LockAnswer, 'etcd'> } | { ok: false; error: WireError };

/** How long a change waits for another's mutex: changes take milliseconds, contenders are few. */
const MUTEX_WAIT_MS = 5000;
/** A mutex older than this belongs to a process that hung or died mid-change: it is broken. */
const MUTEX_STALE_MS = 10_000;

const iso = (ms: number) => new Date(ms).toISOString();

/** The file's text, or undefined when there is none. */
function readRaw(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
}

/** A lock file nobody can read counts as a lock that expired long ago, so it never blocks every run. */
function parse(raw: string): DeployLock {
  try {
    const l = JSON.parse(raw) as DeployLock;
    if (typeof l.runId === 'string' && typeof l.expiresAt === 'string') return l;
  } catch {
    // fall through
  }
  return { holder: 'unknown', pid: 0, runId: 'unreadable', command: 'unknown', reason: 'the lock file could not be read', time: iso(0), expiresAt: iso(0) };
}

const read = (path: string): DeployLock | null => {
  const raw = readRaw(path);
  return raw === undefined ? null : parse(raw);
};

export const isExpired = (l: DeployLock, now: number): boolean => !(Date.parse(l.expiresAt) > now);

/**
 * When a process began, in clock ticks since boot (/proc/PID/stat field 22): with the pid, it
 * names one process for good, where a pid alone may have been reused. Undefined without /proc.
 */
export function processStart(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) is in parentheses and may hold spaces: count after it.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

/** The agent that took the lock is no longer running on this host (killed): its run holds nothing here. */
export const agentGone = (l: DeployLock): boolean => l.agentPid !== undefined && l.agentStart !== undefined && processStart(l.agentPid) !== l.agentStart;

/** Expired (its controller stopped renewing it), or its agent is gone. */
export const isStale = (l: DeployLock, now: number): boolean => isExpired(l, now) || agentGone(l);

const scratch = (path: string, what: string) => `${path}.${what}.${process.pid}.${randomBytes(4).toString('hex')}`;
const remove = (path: string) => rmSync(path, { force: true });

function write(path: string, lock: DeployLock): void {
  const tmp = scratch(path, 'tmp');
  writeFileSync(tmp, JSON.stringify(lock, null, 1) + '\n', { mode: 0o644 });
  renameSync(tmp, path);
}

const sleepSync = (ms: number) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);

/** Runs `fn` (synchronous, a few file operations) while holding the lock file's mutex. */
function withMutex<T>(path: string, fn: () => T): T {
  mkdirSync(dirname(path), { recursive: true });
  const mutex = `${path}.mutex`;
  const mine = JSON.stringify({ pid: process.pid, start: processStart(process.pid), at: Date.now() });
  const tmp = scratch(path, 'mutex');
  writeFileSync(tmp, mine);
  const deadline = Date.now() + MUTEX_WAIT_MS;
  try {
    for (;;) {
      try {
        linkSync(tmp, mutex);
        break;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      }
      breakIfDead(mutex);
      if (Date.now() > deadline) throw new Error(`${mutex} stayed taken for ${MUTEX_WAIT_MS / 1000} s`);
      sleepSync(2 + Math.floor(Math.random() * 10));
    }
  } finally {
    remove(tmp);
  }
  try {
    return fn();
  } finally {
    // Only our own: a mutex broken as stale (we hung past MUTEX_STALE_MS) may be someone else's now.
    if (readRaw(mutex) === mine) remove(mutex);
  }
}

/**
 * Breaks a mutex whose process is gone or that is far older than any change takes. It is moved
 * aside first and checked to be the one judged dead: a live one moved by mistake is put back.
 */
function breakIfDead(mutex: string): void {
  const raw = readRaw(mutex);
  if (raw === undefined) return;
  let owner: { pid?: number; start?: string; at?: number } = {};
  try {
    owner = JSON.parse(raw);
  } catch {
    // Unreadable: judged by age alone (at is missing: dead).
  }
  const gone = owner.pid !== undefined && owner.start !== undefined && processStart(owner.pid) !== owner.start;
  if (!gone && Date.now() - (owner.at ?? 0) < MUTEX_STALE_MS) return;
  const aside = scratch(mutex, 'broken');
  try {
    renameSync(mutex, aside);
  } catch {
    return;
  }
  if (readRaw(aside) !== raw) {
    try {
      linkSync(aside, mutex);
    } catch {
      // Taken again meanwhile: its taker holds it.
    }
  }
  remove(aside);
}

/** Takes the lock for `owner`, takes over a stale one (answered as `previous`), or answers the holder's lock. */
export function acquireHostLock(owner: LockOwner, ttlMs: number, path = lockPath()): LockOutcome {
  return withMutex(path, () => {
    const now = Date.now();
    const held = read(path);
    const fresh: DeployLock = { ...owner, time: iso(now), expiresAt: iso(now + ttlMs), agentPid: process.pid, agentStart: processStart(process.pid) };
    if (held && held.runId === owner.runId) {
      // Our own run asks again (two inventory names for one host): keep when it was taken.
      const again = { ...fresh, time: held.time };
      write(path, again);
      return { ok: true, answer: { backend: 'file', done: true, lock: again, now: iso(now) } };
    }
    if (held && !isStale(held, now)) return { ok: true, answer: { backend: 'file', done: false, lock: held, now: iso(now) } };
    write(path, fresh);
    return { ok: true, answer: { backend: 'file', done: true, lock: fresh, previous: held ?? undefined, now: iso(now) } };
  });
}

/** Moves a held lock's expiry to ttlMs from now. */
export function renewHostLock(runId: string, ttlMs: number, path = lockPath()): LockOutcome {
  return withMutex(path, (): LockOutcome => {
    const now = Date.now();
    const held = read(path);
    if (!held || held.runId !== runId) return { ok: false, error: lost(held, now) };
    // Too late: once expired, others may have judged it free, and this agent stopped the run.
    if (isExpired(held, now)) return { ok: false, error: { code: 'lock.lost', message: `the deploy lock expired (${held.expiresAt}) before it was renewed: the host stopped this run after its task in progress` } };
    const lock: DeployLock = { ...held, expiresAt: iso(now + ttlMs) };
    write(path, lock);
    return { ok: true, answer: { backend: 'file', done: true, lock, now: iso(now) } };
  });
}

function lost(now: DeployLock | null, at: number): WireError {
  return {
    code: 'lock.lost',
    message: now
      ? `the deploy lock is no longer this run's: ${now.holder} (pid ${now.pid}) holds it since ${now.time}${isStale(now, at) ? ' (stale)' : ''}`
      : 'the deploy lock is gone (released with `berth lock release --force`?)',
  };
}

/** Removes the lock when `runId` holds it, or whoever holds it with `force`. */
export function releaseHostLock(opts: { runId?: string; force?: boolean }, path = lockPath()): LockOutcome {
  return withMutex(path, (): LockOutcome => {
    const now = Date.now();
    const held = read(path);
    if (!held) return { ok: true, answer: { backend: 'file', done: false, lock: null, now: iso(now) } };
    if (!opts.force && held.runId !== opts.runId) return { ok: true, answer: { backend: 'file', done: false, lock: held, stale: isStale(held, now), now: iso(now) } };
    remove(path);
    return { ok: true, answer: { backend: 'file', done: true, lock: null, previous: held, stale: isStale(held, now), now: iso(now) } };
  });
}

export function hostLockStatus(path = lockPath()): LockOutcome {
  const now = Date.now();
  const lock = read(path);
  return { ok: true, answer: { backend: 'file', done: true, lock, stale: lock ? isStale(lock, now) : false, now: iso(now) } };
}
