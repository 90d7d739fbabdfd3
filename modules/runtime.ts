// `runtime`: the container engine on a host. Installs Docker Engine with the host's package
// manager (through the `package` module: apt; dnf and apk untested), writes
// /etc/docker/daemon.json from the playbook, keeps the engine running (systemd, OpenRC, or
// berth's supervisor on hosts without an init that could), and restarts it only when the file
// changed, reloading instead when dockerd can take every changed key live. "Running" means the
// Engine API answers; the version it reports is checked against min_version and returned.
import { mkdir, readFile, rm } from 'node:fs/promises';
import { defineModule, failed, type ApplyResult, type Change, type ModuleContext } from './contract.js';
import { writeAtomic } from './lib/atomic-write.js';
import { contentDiff } from './lib/diff.js';
import { applyBy, changedKeys, daemonJson, parseDaemonJson, renderDaemonJson } from './lib/docker-daemon-config.js';
import { engineInfo, waitForEngine, type EngineInfo } from './lib/engine-api.js';
import { READY_TIMEOUT_MS, engineManager, type EngineManager } from './lib/engine-manager.js';
import { compareVersions, dockerdBinaryVersion, parseVersion } from './lib/engine-version.js';
import { onPath } from './lib/exec.js';
import { pkg } from './package.js';
import { runtimeSchema, type RuntimeParams } from './params/runtime.js';

export const DAEMON_JSON = '/etc/docker/daemon.json';
const SOCKET_URL = 'unix:///var/run/docker.sock';

export { runtimeSchema, type RuntimeParams };

function defaultPackages(family: string): string[] {
  if (family === 'redhat') return ['moby-engine'];
  if (family === 'alpine') return ['docker'];
  return ['docker.io'];
}

const tooOld = (version: string, min: string) =>
  failed('runtime.too-old', `docker ${version} is older than min_version ${min}`, 'install a newer engine: a repo that has one, or packages pinned to a newer version');

export const runtime = defineModule({
  name: 'runtime',
  schema: runtimeSchema,
  async plan(p, ctx) {
    if (p.min_version !== undefined && !parseVersion(p.min_version)) return failed('runtime.bad-version', `min_version "${p.min_version}" is not a version like "20.10"`);
    const mgr = engineManager(ctx.facts);
    const desired = p.daemon ? daemonJson(p.daemon) : undefined;
    if (desired) {
      const conflict = mgr.conflict(desired);
      if (conflict) return failed('runtime.daemon-conflict', conflict);
      if (Array.isArray(desired.hosts) && !desired.hosts.includes(SOCKET_URL)) {
        return failed('runtime.daemon-conflict', `daemon.json "hosts" must include ${SOCKET_URL}: berth talks to the engine there`);
      }
    }

    const packages = await pkg.plan({ name: p.packages ?? defaultPackages(ctx.facts.os.family), repo: p.repo, update_cache: true, cache_valid_time: '1h' }, ctx);
    if (!packages.ok) return packages;

    const beforeText = await readFile(DAEMON_JSON, 'utf8').catch(() => null);
    const before = parseDaemonJson(beforeText);
    const keys = desired ? (before.ok ? changedKeys(before.value, desired) : Object.keys(desired)) : [];
    const configChanged = desired !== undefined && (keys.length > 0 || !before.ok);
    const afterText = desired ? renderDaemonJson(desired) : '';
    const what = before.ok ? keys.join(', ') : `the current file ${before.message}`;
    const diff = ctx.diff && configChanged ? contentDiff(DAEMON_JSON, beforeText === null ? null : Buffer.from(beforeText), Buffer.from(afterText)) : undefined;
    const writeConfig = async (): Promise<ApplyResult> => {
      await mkdir('/etc/docker', { recursive: true });
      return writeAtomic(DAEMON_JSON, { data: afterText }, { mode: 0o644 });
    };

    const running = await engineInfo();
    if (running && p.min_version && compareVersions(running.version, p.min_version) < 0 && packages.changes.length === 0) return tooOld(running.version, p.min_version);
    if (!running && packages.changes.length === 0 && p.min_version && (await onPath('dockerd'))) {
      const v = await dockerdBinaryVersion();
      if (v && compareVersions(v, p.min_version) < 0) return tooOld(v, p.min_version);
    }

    const changes: Change[] = [];
    // Written before the packages: where the package starts the engine itself (systemd), it
    // starts with the playbook's settings and needs no restart.
    if (configChanged && !running) {
      changes.push({ summary: `write ${DAEMON_JSON} (${what})`, cause: beforeText === null ? 'missing' : 'content differs', diff, apply: writeConfig });
    }
    changes.push(...packages.changes);
    changes.push(...(await mgr.setup(ctx)));

    const ready = (how: string) => readyCheck(mgr, how, p.min_version, ctx);
    if (!running) {
      const installed = packages.changes.length === 0;
      changes.push({
        summary: `start docker (${mgr.label})`,
        cause: installed ? 'the engine does not answer' : 'being installed',
        apply: async () => {
          const started = await mgr.start(ctx);
          return started.ok ? ready('start') : started;
        },
      });
    } else if (configChanged) {
      const how = before.ok ? applyBy(keys) : 'restart';
      changes.push({
        summary: `update ${DAEMON_JSON} (${what}) and ${how} docker`,
        cause: how === 'reload' ? 'daemon.json differs; every changed key is reloadable' : 'daemon.json differs',
        diff,
        apply: () => reconfigure(mgr, how, writeConfig, beforeText, p.min_version, ctx),
      });
    }

    const data = running ? engineData(running, mgr) : { engine: 'docker', manager: mgr.kind, running: false };
    return { ok: true, changes, data };
  },
});

function engineData(info: EngineInfo, mgr: EngineManager): Record<string, unknown> {
  return { engine: 'docker', version: info.version, api_version: info.apiVersion, manager: mgr.kind, running: true };
}

/** Waits for the engine to answer, checks its version, and records it in the host's facts. */
async function readyCheck(mgr: EngineManager, how: string, min: string | undefined, ctx: ModuleContext): Promise<ApplyResult> {
  const info = await waitForEngine(READY_TIMEOUT_MS, ctx.signal);
  if (!info) return { ok: false, error: { code: 'runtime.not-ready', message: `docker did not answer within ${READY_TIMEOUT_MS / 1000} s after the ${how}`, detail: await mgr.logTail() } };
  // Later tasks on this host (images, services) read the runtime from the facts.
  ctx.facts.runtime = { installed: true, engine: 'docker', version: info.version, running: true };
  if (min && compareVersions(info.version, min) < 0) return tooOld(info.version, min);
  return { ok: true, data: engineData(info, mgr) };
}

/**
 * Writes the new daemon.json and restarts (or reloads) the engine. A dockerd that does not come
 * back with the new file gets the previous one back and another restart: a typo in the
 * playbook must not leave the host without an engine.
 */
async function reconfigure(
  mgr: EngineManager,
  how: 'reload' | 'restart',
  writeConfig: () => Promise<ApplyResult>,
  beforeText: string | null,
  min: string | undefined,
  ctx: ModuleContext,
): Promise<ApplyResult> {
  const written = await writeConfig();
  if (!written.ok) return written;
  const pidBefore = await mgr.processId();
  const done = how === 'reload' ? await mgr.reload(ctx) : await mgr.restart(ctx);
  const ok = done.ok ? await readyCheck(mgr, how, min, ctx) : done;
  if (ok.ok) {
    const pidAfter = await mgr.processId();
    return { ok: true, data: { ...(ok.data ?? {}), [how === 'reload' ? 'reloaded' : 'restarted']: true, pid_before: pidBefore, pid_after: pidAfter } };
  }
  const log = await mgr.logTail();
  const restored = beforeText === null ? await rm(DAEMON_JSON, { force: true }).then(() => ({ ok: true }) as ApplyResult) : await writeAtomic(DAEMON_JSON, { data: beforeText }, { mode: 0o644 });
  const back = restored.ok ? await mgr.restart(ctx) : restored;
  const again = back.ok ? await waitForEngine(READY_TIMEOUT_MS, ctx.signal) : undefined;
  return {
    ok: false,
    error: {
      code: 'runtime.bad-config',
      message: `docker did not come back with the new ${DAEMON_JSON}: ${ok.error.message}; ${again ? 'the previous file is back and the engine runs with it' : 'restoring the previous file did not bring the engine back either'}`,
      detail: log,
    },
  };
}
