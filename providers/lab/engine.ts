// Makes sure a Docker engine answers. Where none does and berth may (root on Debian), it
// installs docker.io and starts dockerd itself, in the background, with its own pid file and log,
// so that an operator (or a CI job) can find and stop exactly that daemon.
import { spawn } from 'node:child_process';
import { accessSync, closeSync, constants, existsSync, openSync, readFileSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { err, ExitCode, ok, type Result } from '../../controller/errors.js';
import { cacheDir } from '../../controller/paths.js';
import { canInstall, ENGINE_TOOLS, ensureTools, missingTools, toolPath } from './apt-tools.js';
import { docker, type Engine } from './docker.js';
import { lock } from './lock.js';
import { addRuntimeToDaemonJson, needsPrivfix, PRIVFIX_RUNTIME, readDaemonJson, writePrivfix } from './privfix.js';

export const DOCKERD_PIDFILE = '/run/berth-dockerd.pid';
export const DOCKERD_LOG = '/var/log/berth-dockerd.log';
const READY_TIMEOUT_MS = 60_000;

type Log = (line: string) => void;

async function answers(e: Engine): Promise<{ ok: boolean; why: string }> {
  const r = await docker(e, ['version', '--format', '{{.Server.APIVersion}}'], { timeoutMs: 15_000 });
  const why = (r.stderr.trim().split('\n').pop() ?? '').trim();
  return { ok: r.code === 0 && r.stdout.trim() !== '', why };
}

async function waitUntil(check: () => Promise<boolean>, timeoutMs: number, stepMs = 200): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return true;
    if (Date.now() > end) return false;
    await new Promise((r) => setTimeout(r, stepMs));
  }
}

const isLocalSocket = (): boolean => !process.env.DOCKER_HOST || process.env.DOCKER_HOST === 'unix:///var/run/docker.sock';

export interface EngineCheck {
  /** The docker client that works, if any. */
  cli?: string;
  /** A Docker engine answered that client. */
  answers: boolean;
  why: string;
  /** Tools of TOOLS that must be installed before berth can start (or use) a local engine. */
  missing: string[];
}

/**
 * What this machine lacks for a local Docker engine, judged by what runs with this PATH: the
 * client's answer from the daemon, then dockerd, containerd and runc themselves. A `docker`
 * client on PATH with no engine behind it is the fresh machine's case: it needs docker.io.
 */
export async function checkEngine(opts: { path?: string; env?: NodeJS.ProcessEnv; privfix?: boolean } = {}): Promise<EngineCheck> {
  const path = opts.path ?? toolPath();
  const env: NodeJS.ProcessEnv = { ...(opts.env ?? process.env), PATH: path, DOCKER_CLI_HINTS: "false" };
  const client = (await missingTools(['docker'], path)).length === 0;
  const cli = process.env.BERTH_DOCKER || (client ? whichIn('docker', path) : undefined);
  const first = cli ? await answers({ cli, env }) : { ok: false, why: 'no docker client runs' };
  const local = !env.DOCKER_HOST || env.DOCKER_HOST === 'unix:///var/run/docker.sock';
  const needed = first.ok ? (opts.privfix ? ['runc'] : []) : local ? [...ENGINE_TOOLS, ...(cli ? [] : ['docker'])] : [];
  return { cli, answers: first.ok, why: first.why, missing: await missingTools(needed, path) };
}

function whichIn(name: string, path: string): string | undefined {
  for (const d of path.split(':')) {
    if (!d) continue;
    try {
      accessSync(join(d, name), constants.X_OK);
      return join(d, name);
    } catch {
      // not here
    }
  }
  return undefined;
}

/** start: false for read-only commands (status), which should not install or start anything. */
export async function ensureEngine(log: Log, opts: { start?: boolean } = {}): Promise<Result<Engine>> {
  const privfix = needsPrivfix();
  let check = await checkEngine({ privfix });
  if (check.missing.length && opts.start !== false) {
    const t = await ensureTools(check.missing, log);
    if (!t.ok) return t;
    check = await checkEngine({ privfix });
  }
  if (!check.cli) return err({ code: 'lab.docker-missing', message: 'no docker client runs here', hint: 'install the Debian package docker.io', exit: ExitCode.badInput });
  const e: Engine = { cli: check.cli, env: { ...process.env, PATH: toolPath(), DOCKER_CLI_HINTS: 'false' } };
  let wrapper: string | undefined;
  if (privfix) {
    const w = await writePrivfix();
    if (!w.ok) return w;
    wrapper = w.value;
  }

  if (!check.answers) {
    if (!isLocalSocket() || !canInstall() || opts.start === false) {
      return err({
        code: 'lab.no-engine',
        message: `no Docker engine answers${check.why ? ` (${check.why})` : ''}`,
        hint: isLocalSocket()
          ? opts.start === false
            ? '`berth lab up` starts one'
            : 'start dockerd (or run berth as root on Debian, and it installs docker.io and starts dockerd itself)'
          : `check DOCKER_HOST=${process.env.DOCKER_HOST}`,
        exit: ExitCode.badInput,
      });
    }
    // Two berth processes may find no engine at once; only one starts it.
    const unlock = await lock(join(cacheDir(), 'locks', 'engine'), (pid) => log(`waiting for berth (pid ${pid}) to start dockerd`));
    try {
      if (!(await answers(e)).ok) {
        const started = await startDockerd(e, wrapper, log);
        if (!started.ok) return started;
      }
    } finally {
      await unlock();
    }
  }

  if (wrapper) {
    const reg = await ensureRuntimeRegistered(e, wrapper, log);
    if (!reg.ok) return reg;
    e.runtime = PRIVFIX_RUNTIME;
  }
  return ok(e);
}

async function startDockerd(e: Engine, wrapper: string | undefined, log: Log): Promise<Result<void>> {
  // checkEngine made sure dockerd, containerd and runc run.
  const dockerd = whichIn('dockerd', toolPath());
  if (!dockerd) return err({ code: 'lab.dockerd-missing', message: 'dockerd is missing after installing docker.io', exit: ExitCode.failed });
  // A distribution with an init system may have started the service during the install.
  if ((await answers(e)).ok) return ok(undefined);
  const args = ['--pidfile', DOCKERD_PIDFILE];
  if (wrapper) {
    // dockerd refuses to start when `runtimes` is set both by flag and in daemon.json.
    const conf = await readDaemonJson();
    if (!conf.ok) return conf;
    if (conf.value?.runtimes) {
      const added = await addRuntimeToDaemonJson(wrapper);
      if (!added.ok) return added;
    } else {
      args.push('--add-runtime', `${PRIVFIX_RUNTIME}=${wrapper}`);
    }
  }
  log(`starting dockerd (pid file ${DOCKERD_PIDFILE}, log ${DOCKERD_LOG})`);
  const out = openSync(DOCKERD_LOG, 'a');
  // detached: its own session (setsid), so it outlives this command and its terminal.
  const child = spawn(dockerd, args, { detached: true, stdio: ['ignore', out, out] });
  closeSync(out);
  let exited: number | null | undefined;
  child.on('exit', (code) => (exited = code));
  child.on('error', () => (exited = 127));
  child.unref();
  const up = await waitUntil(async () => exited !== undefined || (await answers(e)).ok, READY_TIMEOUT_MS);
  if (!up || exited !== undefined) {
    const tail = existsSync(DOCKERD_LOG) ? readFileSync(DOCKERD_LOG, 'utf8').trim().split('\n').slice(-3).join(' | ') : '';
    return err({
      code: 'lab.dockerd-failed',
      message: exited !== undefined ? `dockerd exited with code ${exited}` : `dockerd did not answer within ${READY_TIMEOUT_MS / 1000} s`,
      hint: `see ${DOCKERD_LOG}${tail ? `: ${tail}` : ''}`,
      exit: ExitCode.failed,
    });
  }
  return ok(undefined);
}

async function runtimes(e: Engine): Promise<string[]> {
  const r = await docker(e, ['info', '--format', '{{json .Runtimes}}']);
  try {
    return Object.keys(JSON.parse(r.stdout) as object);
  } catch {
    return [];
  }
}

/** A dockerd that runs without the runtime gets it through daemon.json and SIGHUP (which reloads runtimes). */
async function ensureRuntimeRegistered(e: Engine, wrapper: string, log: Log): Promise<Result<void>> {
  if ((await runtimes(e)).includes(PRIVFIX_RUNTIME)) return ok(undefined);
  const fail = (why: string) =>
    err({
      code: 'lab.privfix',
      message: `this machine cannot start privileged containers as is (its capability bounding set is short), and ${why}`,
      hint: `register the runtime yourself: add {"runtimes": {"${PRIVFIX_RUNTIME}": {"path": "${wrapper}"}}} to /etc/docker/daemon.json and send dockerd SIGHUP`,
      exit: ExitCode.badInput,
    });
  if (!isLocalSocket() || process.getuid?.() !== 0) return fail('berth cannot register its runc wrapper with this dockerd');
  const pid = await dockerdPid();
  if (!pid) return fail('berth cannot find the running dockerd to reload it');
  log(`registering the ${PRIVFIX_RUNTIME} runtime with dockerd (pid ${pid}) in ${'/etc/docker/daemon.json'}`);
  const added = await addRuntimeToDaemonJson(wrapper);
  if (!added.ok) return added;
  process.kill(pid, 'SIGHUP');
  const seen = await waitUntil(async () => (await runtimes(e)).includes(PRIVFIX_RUNTIME), 15_000);
  return seen ? ok(undefined) : fail('dockerd did not pick the runtime up after SIGHUP (does it read another config file?)');
}

/** pid of the running dockerd: from the pid files first, else by scanning /proc. */
async function dockerdPid(): Promise<number | undefined> {
  const isDockerd = (pid: number) => {
    try {
      return readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'dockerd';
    } catch {
      return false;
    }
  };
  for (const f of [DOCKERD_PIDFILE, '/var/run/docker.pid']) {
    const pid = Number(existsSync(f) ? readFileSync(f, 'utf8').trim() : NaN);
    if (pid > 0 && isDockerd(pid)) return pid;
  }
  for (const d of await readdir('/proc')) {
    const pid = Number(d);
    if (pid > 0 && isDockerd(pid)) return pid;
  }
  return undefined;
}

/** For `lab status`: which dockerd berth started, if any. */
export function berthDockerdPid(): number | undefined {
  try {
    const pid = Number(readFileSync(DOCKERD_PIDFILE, 'utf8').trim());
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'dockerd' ? pid : undefined;
  } catch {
    return undefined;
  }
}

