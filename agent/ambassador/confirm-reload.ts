// haproxy's master (2.6, -W) loses a SIGUSR2 that arrives while it is still reloading: after it
// forks the new worker it re-executes itself once more ("wait mode"), and a signal in that window
// is dropped, so the config written just before it is never loaded and the ambassador keeps
// routing to instances the registry no longer lists. Every reload forks a new worker, so a reload
// that took is seen as a new child of the master; one that did not is signalled again.
import { readdirSync, readFileSync } from 'node:fs';

/** Pids whose parent is `pid`, from /proc (the master's workers, old and new). */
export function childrenOf(pid: number): Set<number> {
  const out = new Set<number>();
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return out;
  }
  for (const name of entries) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      // "pid (comm) state ppid ...": comm may hold spaces and parentheses, so read after the last ')'.
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid) out.add(Number(name));
    } catch {
      // Gone meanwhile.
    }
  }
  return out;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface ReloadConfirm {
  /** How long to wait for the new worker after each signal. */
  waitMs: number;
  /** Signals sent at most. */
  attempts: number;
}

/**
 * Sends the reload signal until a worker the master did not have before shows up. Returns how
 * many signals it took, or 0 when none was answered (the master too slow or gone).
 */
export async function reloadConfirmed(pid: number, send: () => Promise<void>, o: ReloadConfirm = { waitMs: 1500, attempts: 3 }): Promise<number> {
  const before = childrenOf(pid);
  for (let attempt = 1; attempt <= o.attempts; attempt++) {
    await send();
    const until = Date.now() + o.waitMs;
    while (Date.now() < until) {
      await sleep(20);
      for (const c of childrenOf(pid)) if (!before.has(c)) return attempt;
    }
  }
  return 0;
}
