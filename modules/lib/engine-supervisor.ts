// dockerd on a host without an init that could run it (a container whose PID 1 is tini, a
// minimal VM): a small sh supervisor, started detached from the agent (its own session, so the
// end of the SSH connection does not end it), keeps dockerd running and restarts it when it
// exits. Nothing brings it back after the host itself restarts: on such hosts the next
// `berth apply` finds the engine down and starts it (the runtime module reports that change).
//
// Files: the script at SCRIPT, the supervisor's pid in SUPERVISOR_PIDFILE, dockerd's own pid in
// PIDFILE (dockerd --pidfile), dockerd's output appended to LOG. Pids are checked against
// /proc/PID/cmdline before any signal: pid numbers are reused quickly on busy machines.
import { spawn } from 'node:child_process';
import { closeSync, fstatSync, openSync, readdirSync, readFileSync, readSync, statSync } from 'node:fs';
import { engineInfo } from './engine-api.js';
import { capture } from './exec.js';

export const SCRIPT = '/usr/local/lib/berth/dockerd-supervisor';
export const PIDFILE = '/var/run/berth-dockerd.pid';
export const SUPERVISOR_PIDFILE = '/var/run/berth-dockerd-supervisor.pid';
export const LOG = '/var/log/berth-dockerd.log';

// USR1 asks for a restart now (daemon.json changed); TERM stops dockerd and the supervisor.
// An exit berth did not ask for is followed by a pause that doubles while dockerd keeps failing
// within 30 s of its start, so a broken configuration does not spin.
export const SCRIPT_TEXT = `#!/bin/sh
# Written by berth (runtime module): keeps dockerd running on a host without systemd or OpenRC.
# USR1: restart dockerd now. TERM/INT: stop dockerd, then exit.
echo $$ > ${SUPERVISOR_PIDFILE}
child=
stopping=
restarting=
trap 'stopping=1; [ -n "$child" ] && kill -TERM "$child" 2>/dev/null' TERM INT
trap 'restarting=1; [ -n "$child" ] && kill -TERM "$child" 2>/dev/null' USR1
pause=1
while [ -z "$stopping" ]; do
  started=$(date +%s)
  echo "berth-dockerd: starting dockerd ($(date -u +%FT%TZ))" >>${LOG}
  dockerd --pidfile ${PIDFILE} >>${LOG} 2>&1 </dev/null &
  child=$!
  # wait returns early when a trapped signal arrives: wait until dockerd is really gone.
  while kill -0 "$child" 2>/dev/null; do wait "$child"; done
  child=
  [ -n "$stopping" ] && break
  if [ -n "$restarting" ]; then
    restarting=
    pause=1
    continue
  fi
  if [ $(( $(date +%s) - started )) -ge 30 ]; then pause=1; else pause=$(( pause * 2 > 30 ? 30 : pause * 2 )); fi
  echo "berth-dockerd: dockerd exited; starting it again in $pause s" >>${LOG}
  sleep "$pause" & wait $!
done
rm -f ${SUPERVISOR_PIDFILE}
`;

const cmdline = (pid: number): string => {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ');
  } catch {
    return '';
  }
};

/** The pid in `file` when that process is alive and its command line contains `mark`. */
function livePid(file: string, mark: string): number | undefined {
  let pid: number;
  try {
    pid = Number(readFileSync(file, 'utf8').trim());
  } catch {
    return undefined;
  }
  return Number.isInteger(pid) && pid > 0 && cmdline(pid).includes(mark) ? pid : undefined;
}

export const supervisorPid = (): number | undefined => livePid(SUPERVISOR_PIDFILE, 'dockerd-supervisor');
export const supervisedDockerdPid = (): number | undefined => livePid(PIDFILE, 'dockerd');

/** Every dockerd process on the host (ours or started by someone else). */
export function dockerdPids(): number[] {
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      if (readFileSync(`/proc/${name}/comm`, 'utf8').trim() === 'dockerd') out.push(Number(name));
    } catch {
      // The process ended while we looked.
    }
  }
  return out;
}

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return cmdline(pid) !== '';
  } catch {
    return false;
  }
};

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitGone(pids: number[], timeoutMs: number): Promise<boolean> {
  const until = Date.now() + timeoutMs;
  while (pids.some(alive)) {
    if (Date.now() > until) return false;
    await sleep(200);
  }
  return true;
}

/** Stops every dockerd this supervisor does not own (one started by hand or by a package script). */
export async function stopForeignDockerd(): Promise<{ ok: true } | { ok: false; message: string }> {
  const ours = supervisedDockerdPid();
  const foreign = dockerdPids().filter((p) => p !== ours || supervisorPid() === undefined);
  for (const p of foreign) {
    try {
      process.kill(p, 'SIGTERM');
    } catch {
      // Already gone.
    }
  }
  // dockerd gives containers up to its shutdown-timeout (15 s) to stop.
  return (await waitGone(foreign, 60_000)) ? { ok: true } : { ok: false, message: `dockerd (pid ${foreign.join(', ')}) did not stop within 60 s` };
}

/** Starts the supervisor in its own session; it outlives this agent and the SSH connection. */
export function startSupervisor(): void {
  const child = spawn('/bin/sh', [SCRIPT], { detached: true, stdio: 'ignore', cwd: '/', env: { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', LANG: 'C' } });
  child.unref();
}

/** Asks the supervisor to restart dockerd now (it skips its pause); false without a supervisor. */
export function requestRestart(): boolean {
  const sup = supervisorPid();
  if (sup === undefined) return false;
  process.kill(sup, 'SIGUSR1');
  return true;
}

/** Bytes in the log now: what dockerd writes after this point belongs to the next start. */
export const logMark = (): number => {
  try {
    return statSync(LOG).size;
  } catch {
    return 0;
  }
};

function logSince(mark: number): string {
  try {
    const fd = openSync(LOG, 'r');
    try {
      const size = fstatSync(fd).size;
      if (size <= mark) return '';
      const buf = Buffer.alloc(Math.min(size - mark, 1 << 20));
      readSync(fd, buf, 0, buf.length, mark);
      return buf.toString('utf8');
    } finally {
      closeSync(fd);
    }
  } catch {
    return '';
  }
}

/**
 * Waits until a dockerd other than `oldPid` runs under the supervisor and the engine answers,
 * or until the supervisor reports that dockerd exited (a configuration dockerd refuses fails
 * within a second: no point waiting out the timeout).
 */
export async function awaitSupervised(mark: number, oldPid: number | undefined, timeoutMs: number, signal?: AbortSignal): Promise<{ ok: true; pid: number } | { ok: false; message: string; log: string }> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const pid = supervisedDockerdPid();
    if (pid !== undefined && pid !== oldPid && (await engineInfo(1000))) return { ok: true, pid };
    const log = logSince(mark);
    if (/berth-dockerd: dockerd exited/.test(log)) return { ok: false, message: 'dockerd exited right after it started', log: tail(log) };
    if (Date.now() > until || signal?.aborted) return { ok: false, message: `dockerd did not answer within ${Math.round(timeoutMs / 1000)} s`, log: tail(log) };
    await sleep(250);
  }
}

const tail = (text: string, lines = 15) => text.trimEnd().split('\n').slice(-lines).join('\n');

/** SIGHUP: dockerd re-reads daemon.json and applies the keys it can take live. */
export function hupDockerd(): boolean {
  const pids = dockerdPids();
  for (const p of pids) process.kill(p, 'SIGHUP');
  return pids.length > 0;
}

/** The last lines dockerd wrote, for a failure a person can act on. */
export async function supervisedLogTail(lines = 15): Promise<string> {
  const r = await capture(['tail', '-n', String(lines), LOG]);
  return r.stdout.trim();
}
