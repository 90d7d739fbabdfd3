// Makes sure this host's watcher runs, and runs this agent's version. Called by every task that
// hands the watcher work (registry, registration, ambassador, scheduled job): it nudges a
// current watcher, replaces one of another version (SIGTERM: it hands over without withdrawing anything, then
// the new one takes every registration over), and starts one where none runs. Hosts with
// systemd get a unit (restarted by systemd if it dies, started at boot); elsewhere the watcher
// runs in its own session (setsid) under a small sh loop that restarts it if it crashes, so
// that neither the end of the SSH connection nor a crash ends it. Nothing starts it after the
// host itself restarts there: the next apply does.
import { spawn } from 'node:child_process';
import { existsSync, fchmodSync, mkdirSync, openSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import type { HostFacts } from '../../protocol/agent-protocol.js';
import { capture } from '../../modules/lib/exec.js';
import { watcherDir } from '../registry/paths.js';
import { done, trouble, type Outcome } from '../registry/types.js';
import { isAlive, liveWatcher, logPath, WATCH_FLAG, type WatcherPid } from './pidfile.js';
import { agentFile, agentSha } from './self.js';

export type WatcherAction = 'running' | 'started' | 'replaced';
export interface WatcherState {
  action: WatcherAction;
  pid: number;
}

export const UNIT = '/etc/systemd/system/berth-watcher.service';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** What ensureWatcher would do, without doing it (check mode). */
export function watcherPlan(): { action: WatcherAction; pid?: number; from?: string } {
  const w = liveWatcher();
  if (!w) return { action: 'started' };
  if (w.sha !== agentSha()) return { action: 'replaced', pid: w.pid, from: w.sha };
  return { action: 'running', pid: w.pid };
}

export async function ensureWatcher(facts: Pick<HostFacts, 'init'>): Promise<Outcome<WatcherState>> {
  const w = liveWatcher();
  if (w && w.sha === agentSha()) {
    process.kill(w.pid, 'SIGHUP');
    return done({ action: 'running', pid: w.pid });
  }
  // Under systemd, `systemctl restart` of the rewritten unit does the SIGTERM (a handover).
  if (w && facts.init !== 'systemd') {
    const stopped = await stopWatcher(w, 'SIGTERM');
    if (!stopped.ok) return stopped;
  }
  const started = facts.init === 'systemd' ? await startUnit() : startDetached();
  if (!started.ok) return started;
  const up = await waitForWatcher(10_000);
  if (!up) return trouble('watcher.start-failed', 'the watcher did not start within 10 s', tail(logPath()));
  return done({ action: w ? 'replaced' : 'started', pid: up.pid });
}

/** Stops the watcher: SIGTERM hands over, SIGINT withdraws every registration first. */
export async function stopWatcher(w: WatcherPid, signal: 'SIGTERM' | 'SIGINT'): Promise<Outcome> {
  process.kill(w.pid, signal);
  for (let i = 0; i < 100 && isAlive(w.pid); i++) await sleep(100);
  if (isAlive(w.pid)) {
    process.kill(w.pid, 'SIGKILL');
    await sleep(200);
  }
  return done(undefined);
}

async function waitForWatcher(ms: number): Promise<WatcherPid | undefined> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    const w = liveWatcher();
    if (w && w.sha === agentSha()) return w;
    await sleep(100);
  }
  return undefined;
}

function startDetached(): Outcome {
  mkdirSync(watcherDir(), { recursive: true });
  const log = logPath();
  try {
    // Keep one previous log: a long-running watcher's log must not grow without end.
    if (statSync(log).size > 1 << 20) renameSync(log, `${log}.1`);
  } catch {
    // No log yet.
  }
  // The watcher logs health check output and backend errors: the owner's to read.
  const fd = openSync(log, 'a', 0o600);
  fchmodSync(fd, 0o600);
  try {
    // A watcher that crashes comes back after 2 s (a silent host would see its registrations run
    // out); one that exits on purpose (0: handed over or stopped, 3: another one runs) does not.
    const loop = `while :; do "$0" "$1" ${WATCH_FLAG}; case $? in 0|3) exit 0;; esac; echo "berth watcher exited; starting it again in 2 s" >&2; sleep 2; done`;
    const child = spawn('/bin/sh', ['-c', loop, process.execPath, agentFile()], { detached: true, stdio: ['ignore', fd, fd], cwd: '/', env: process.env });
    child.unref();
    return done(undefined);
  } catch (e) {
    return trouble('watcher.start-failed', `cannot start the watcher: ${(e as Error).message}`);
  }
}

async function startUnit(): Promise<Outcome> {
  const env = process.env.BERTH_HOST_DIR ? `Environment=BERTH_HOST_DIR=${process.env.BERTH_HOST_DIR}\n` : '';
  const unit = [
    '[Unit]',
    'Description=berth watcher: health checks, service registration, ambassadors, scheduled jobs',
    'After=docker.service network-online.target',
    'Wants=docker.service',
    '',
    '[Service]',
    `ExecStart=${process.execPath} ${agentFile()} ${WATCH_FLAG}`,
    `${env}Restart=always`,
    'RestartSec=2',
    // SIGTERM is a handover: a restart or an upgrade leaves registrations to the next watcher.
    'KillMode=process',
    'TimeoutStopSec=15',
    '',
    '[Install]',
    'WantedBy=multi-user.target',
    '',
  ].join('\n');
  const before = existsSync(UNIT) ? readFileSync(UNIT, 'utf8') : '';
  if (before !== unit) writeFileSync(UNIT, unit);
  for (const argv of [['systemctl', 'daemon-reload'], ['systemctl', 'enable', 'berth-watcher.service'], ['systemctl', 'restart', 'berth-watcher.service']]) {
    const r = await capture(argv);
    if (r.code !== 0) return trouble('watcher.start-failed', `${argv.join(' ')} failed: ${(r.stderr || r.spawnError || '').trim()}`);
  }
  return done(undefined);
}

function tail(path: string, lines = 15): string {
  try {
    return readFileSync(path, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}
