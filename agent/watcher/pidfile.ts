// The watcher's pidfile: which process is the watcher and which agent version it runs. A pid is
// trusted only while /proc/PID/cmdline still says `--watch` (pids wrap within minutes on a busy
// host, and a stale file must never get an unrelated process signalled).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readJson, writeJson } from '../registry/json-file.js';
import { watcherDir } from '../registry/paths.js';

export interface WatcherPid {
  pid: number;
  /** sha256 of the agent file it runs. */
  sha: string;
  agent: string;
  startedAt: string;
}

export const pidfilePath = (): string => join(watcherDir(), 'watcher.pid');
export const logPath = (): string => join(watcherDir(), 'watcher.log');

export const WATCH_FLAG = '--watch';

export function cmdline(pid: number): string[] {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
  } catch {
    return [];
  }
}

/** The watcher the pidfile names, when that process is alive and really is a watcher. */
export function liveWatcher(): WatcherPid | undefined {
  const p = readJson<WatcherPid>(pidfilePath());
  if (!p || !Number.isInteger(p.pid) || p.pid <= 0) return undefined;
  return cmdline(p.pid).includes(WATCH_FLAG) ? p : undefined;
}

export const writePidfile = (p: WatcherPid): void => writeJson(pidfilePath(), p);

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  // A zombie (exited, not yet reaped by a busy init) is as good as gone.
  try {
    return !/^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, 'utf8'));
  } catch {
    return false;
  }
}
