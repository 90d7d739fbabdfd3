// Who keeps dockerd running on a host, and how berth asks it to start, restart or reload the
// engine: systemd where the host runs it, OpenRC on Alpine (UNTESTED: no OpenRC host runs
// here), and otherwise berth's own supervisor (engine-supervisor.ts).
import { mkdir, readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { HostFacts } from '../../protocol/agent-protocol.js';
import { runArgv } from '../command.js';
import type { ApplyResult, Change, ModuleContext } from '../contract.js';
import { writeAtomic } from './atomic-write.js';
import { capture } from './exec.js';
import {
  LOG,
  SCRIPT,
  SCRIPT_TEXT,
  awaitSupervised,
  hupDockerd,
  logMark,
  requestRestart,
  startSupervisor,
  stopForeignDockerd,
  supervisedDockerdPid,
  supervisedLogTail,
  supervisorPid,
} from './engine-supervisor.js';

export interface EngineManager {
  kind: 'systemd' | 'openrc' | 'supervised';
  /** For summaries: "systemd (docker.service)". */
  label: string;
  /** A daemon.json key this manager cannot take, and why. */
  conflict(config: Record<string, unknown>): string | undefined;
  /** Changes that must precede a start (the supervisor script). */
  setup(ctx: ModuleContext): Promise<Change[]>;
  start(ctx: ModuleContext): Promise<ApplyResult>;
  restart(ctx: ModuleContext): Promise<ApplyResult>;
  reload(ctx: ModuleContext): Promise<ApplyResult>;
  /** Last lines of dockerd's log, for failures. */
  logTail(): Promise<string>;
  /** Something that identifies the running dockerd process (its pid), to tell a restart happened. */
  processId(): Promise<string | undefined>;
}

/** dockerd normally answers within 2 s; a restart first waits for containers to stop. */
export const READY_TIMEOUT_MS = 90_000;

const fail = (code: string, message: string, detail?: string): ApplyResult => ({ ok: false, error: { code, message, detail } });

const systemd: EngineManager = {
  kind: 'systemd',
  label: 'systemd (docker.service)',
  conflict: (c) => (c.hosts !== undefined ? 'docker.service starts dockerd with -H fd://, which conflicts with "hosts" in daemon.json (dockerd would refuse to start)' : undefined),
  setup: async () => [],
  start: (ctx) => runArgv(['systemctl', 'enable', '--now', 'docker.service'], {}, ctx),
  restart: async (ctx) => {
    // A unit that failed a few times in a row (a bad daemon.json just now) hits systemd's start
    // limit; clear it so the restart that puts the previous file back is not refused.
    await capture(['systemctl', 'reset-failed', 'docker.service']);
    return runArgv(['systemctl', 'restart', 'docker.service'], {}, ctx);
  },
  reload: (ctx) => runArgv(['systemctl', 'reload', 'docker.service'], {}, ctx),
  logTail: async () => (await capture(['journalctl', '-u', 'docker.service', '-n', '15', '--no-pager', '-o', 'cat'])).stdout.trim(),
  processId: async () => {
    const r = await capture(['systemctl', 'show', 'docker.service', '--property=MainPID', '--value']);
    const pid = r.stdout.trim();
    return r.code === 0 && pid !== '' && pid !== '0' ? pid : undefined;
  },
};

// UNTESTED: written from Alpine's docker init script (rc-service docker ...), never run here.
const openrc: EngineManager = {
  kind: 'openrc',
  label: 'OpenRC (docker)',
  conflict: () => undefined,
  setup: async () => [],
  start: async (ctx) => {
    const added = await runArgv(['rc-update', 'add', 'docker', 'default'], {}, ctx);
    return added.ok ? runArgv(['rc-service', 'docker', 'start'], {}, ctx) : added;
  },
  restart: (ctx) => runArgv(['rc-service', 'docker', 'restart'], {}, ctx),
  reload: async () => (hupDockerd() ? { ok: true } : fail('runtime.not-running', 'no dockerd process to reload')),
  logTail: async () => (await capture(['tail', '-n', '15', '/var/log/docker.log'])).stdout.trim(),
  processId: async () => {
    try {
      return (await readFile('/run/docker.pid', 'utf8')).trim() || undefined;
    } catch {
      return undefined;
    }
  },
};

const supervised: EngineManager = {
  kind: 'supervised',
  label: `berth's supervisor (${SCRIPT}, log ${LOG})`,
  conflict: (c) => (c.pidfile !== undefined ? 'berth\'s supervisor passes --pidfile to dockerd, which conflicts with "pidfile" in daemon.json' : undefined),
  async setup() {
    const now = await readFile(SCRIPT, 'utf8').catch(() => null);
    if (now === SCRIPT_TEXT) return [];
    return [
      {
        summary: `${now === null ? 'install' : 'update'} the dockerd supervisor ${SCRIPT}`,
        cause: now === null ? 'this host has no init that runs dockerd' : 'the script differs from this berth version',
        apply: async () => {
          await mkdir(dirname(SCRIPT), { recursive: true });
          return writeAtomic(SCRIPT, { data: SCRIPT_TEXT }, { mode: 0o755 });
        },
      },
    ];
  },
  async start(ctx) {
    const mark = logMark();
    const old = supervisedDockerdPid();
    // Alive but its dockerd does not answer (crashed, or in the pause before another try):
    // ask for a start now rather than waiting out the pause.
    if (!requestRestart()) {
      const stopped = await stopForeignDockerd();
      if (!stopped.ok) return fail('runtime.stop-failed', stopped.message);
      startSupervisor();
    }
    const r = await awaitSupervised(mark, old, READY_TIMEOUT_MS, ctx.signal);
    return r.ok ? { ok: true } : fail('runtime.start-failed', r.message, r.log);
  },
  async restart(ctx) {
    if (supervisorPid() === undefined) return supervised.start(ctx);
    const mark = logMark();
    const old = supervisedDockerdPid();
    requestRestart();
    const r = await awaitSupervised(mark, old, READY_TIMEOUT_MS, ctx.signal);
    return r.ok ? { ok: true } : fail('runtime.restart-failed', r.message, r.log);
  },
  reload: async () => (hupDockerd() ? { ok: true } : fail('runtime.not-running', 'no dockerd process to reload')),
  logTail: () => supervisedLogTail(),
  processId: async () => {
    const pid = supervisedDockerdPid();
    return pid === undefined ? undefined : String(pid);
  },
};

export function engineManager(facts: HostFacts): EngineManager {
  if (facts.init === 'systemd') return systemd;
  if (facts.init === 'openrc') return openrc;
  return supervised;
}
