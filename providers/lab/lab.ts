// `lab up`, `lab down`, `lab status`: converge a lab to N hosts, remove it, or report it. The
// CLI and the test helper both call these, so tests exercise exactly what operators run.
import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { err, ExitCode, ok, type Result } from '../../controller/errors.js';
import { ensureAptRepo } from './apt-repo.js';
import { docker, type Engine } from './docker.js';
import { ensureEngine } from './engine.js';
import { ensureHostImage } from './host-image.js';
import { hostNode, installDebianNode, type LabNode } from './host-node.js';
import { ensureNetwork, labContainers, readHostKey, removeContainers, removeNetwork, startHost, type HostContainer } from './hosts.js';
import { ensureTools } from './apt-tools.js';
import { ensureLabKey } from './keys.js';
import { INVENTORY, KNOWN_HOSTS, readLabState, writeLabState, type LabHostState, type LabState } from './lab-state.js';
import { lock } from './lock.js';
import { APT_LINE, checkLabName, hostName, labDir, networkName } from './names.js';
import { waitForSsh } from './ready.js';
import type { HostInit } from './recipe.js';
import { lastLine } from './run.js';

export type Log = (line: string) => void;
const quiet: Log = () => {};

export const MAX_HOSTS = 100;
const SSH_READY_TIMEOUT_MS = 90_000;

export interface LabOptions {
  name: string;
  /** Parent of labs/ (default stateDir()); the test helper keeps its labs apart from an operator's. */
  stateRoot?: string;
  log?: Log;
}

export interface LabUpOptions extends LabOptions {
  /** Default: as many as the lab has now, or DEFAULT_HOSTS for a new lab. */
  hosts?: number;
  /** PID 1 of the hosts. Default: what the lab's hosts run now, or tini for a new lab. Hosts that run another are replaced. */
  init?: HostInit;
  /** Hosts that get Debian's own nodejs (Node 18) at start; default none (berth pushes its runtime). */
  node?: LabNode;
}

export const DEFAULT_HOSTS = 3;

export interface LabUpResult {
  state: LabState;
  /** Hosts started, removed and restarted (found stopped) by this call; all empty when the lab already matched. */
  added: string[];
  removed: string[];
  restarted: string[];
}

const labLock = (dir: string, log: Log) => lock(`${dir}.lock`, (pid) => log(`waiting for berth (pid ${pid}), which is changing this lab`));

export async function labUp(opts: LabUpOptions): Promise<Result<LabUpResult>> {
  const log = opts.log ?? quiet;
  const name = checkLabName(opts.name);
  if (!name.ok) return name;
  if (opts.hosts !== undefined && (!Number.isInteger(opts.hosts) || opts.hosts < 1 || opts.hosts > MAX_HOSTS)) {
    return err({ code: 'lab.bad-hosts', message: `--hosts must be a whole number from 1 to ${MAX_HOSTS}, not ${opts.hosts}`, where: '--hosts', exit: ExitCode.badInput });
  }
  const eng = await ensureEngine(log);
  if (!eng.ok) return eng;
  const e = eng.value;
  const current = await labContainers(e, opts.name);
  if (!current.ok) return current;
  const init: HostInit = opts.init ?? current.value[0]?.init ?? 'tini';
  const img = await ensureHostImage(e, log, { init });
  if (!img.ok) return img;
  const repo = await ensureAptRepo(e, img.value, log);
  if (!repo.ok) return repo;
  const keygen = await ensureTools(['ssh-keygen'], log);
  if (!keygen.ok) return keygen;

  const dir = labDir(opts.name, opts.stateRoot);
  const unlock = await labLock(dir, log);
  try {
    const key = await ensureLabKey(dir, opts.name);
    const net = await ensureNetwork(e, opts.name);
    if (!net.ok) return net;
    const before = await labContainers(e, opts.name);
    if (!before.ok) return before;

    const count = opts.hosts ?? (before.value.length || DEFAULT_HOSTS);
    const wanted = new Set(Array.from({ length: count }, (_, i) => hostName(i + 1)));
    // A host made for another key (the lab's state dir was lost) would refuse us: replace it.
    // So would a host with another init: its PID 1 is fixed when it is made.
    const stale = before.value.filter((c) => !wanted.has(c.name) || c.keyFingerprint !== key.fingerprint || c.init !== init);
    const kept = before.value.filter((c) => !stale.includes(c));
    const removed = stale.filter((c) => !wanted.has(c.name)).map((c) => c.name);
    const otherInit = stale.filter((c) => wanted.has(c.name) && c.init !== init);
    if (otherInit.length) log(`replacing ${otherInit.map((c) => c.name).join(', ')}: they run ${otherInit[0]!.init}, ${init} was asked for`);
    if (stale.length) {
      log(`removing ${stale.map((c) => c.name).join(', ')}`);
      const rmd = await removeContainers(e, stale.map((c) => c.id));
      if (!rmd.ok) return rmd;
    }
    const stopped = kept.filter((c) => !c.running);
    for (const c of stopped) {
      log(`starting ${c.name} again`);
      const r = await docker(e, ['start', c.container]);
      if (r.code !== 0) return err({ code: 'lab.host-start', message: `cannot start lab host ${c.name} again: ${lastLine(r)}`, where: c.container, hint: 'run `berth lab down` and `berth lab up` to recreate the lab', exit: ExitCode.failed });
    }
    const missing = [...wanted].filter((h) => !kept.some((c) => c.name === h));
    if (missing.length) log(`starting ${missing.join(', ')}`);
    const started = await Promise.all(
      missing.map((h) =>
        startHost(e, { lab: opts.name, name: h, image: img.value.image, aptRepo: repo.value, publicKey: key.publicKey, keyFingerprint: key.fingerprint, stateDir: dir, init }),
      ),
    );
    const failed = started.find((r) => !r.ok);
    if (failed && !failed.ok) return failed;

    const now = await labContainers(e, opts.name);
    if (!now.ok) return now;
    const hosts = await readyHosts(e, now.value, log);
    if (!hosts.ok) return hosts;
    const withNode = hosts.value.filter((h) => hostNode(opts.node, h.name) === 'debian');
    if (withNode.length) log(`installing Debian's nodejs on ${withNode.map((h) => h.name).join(', ')}`);
    for (const r of await Promise.all(withNode.map((h) => installDebianNode(e, h.container)))) if (!r.ok) return r;
    const state: LabState = {
      version: 1,
      name: opts.name,
      dir,
      network: net.value.name,
      subnet: net.value.subnet,
      image: img.value.image,
      init,
      aptRepo: repo.value,
      aptLine: APT_LINE,
      runtime: e.runtime ?? null,
      keyPath: key.path,
      keyFingerprint: key.fingerprint,
      knownHostsPath: join(dir, KNOWN_HOSTS),
      inventoryPath: join(dir, INVENTORY),
      hosts: hosts.value,
      updatedAt: new Date().toISOString(),
    };
    await writeLabState(state);
    return ok({ state, added: missing, removed, restarted: stopped.map((c) => c.name) });
  } finally {
    await unlock();
  }
}

/** Waits for every host's sshd, then reads its host key (made by the entrypoint before sshd starts). */
async function readyHosts(e: Engine, cs: HostContainer[], log: Log): Promise<Result<LabHostState[]>> {
  const results = await Promise.all(
    cs.map(async (c): Promise<Result<LabHostState>> => {
      if (!c.running || !c.port || !c.ip) {
        return err({ code: 'lab.host-down', message: `lab host ${c.name} is ${c.status}`, where: c.container, hint: `see \`docker logs ${c.container}\``, exit: ExitCode.failed });
      }
      if (!(await waitForSsh('127.0.0.1', c.port, SSH_READY_TIMEOUT_MS))) {
        return err({ code: 'lab.ssh-timeout', message: `sshd on ${c.name} did not answer within ${SSH_READY_TIMEOUT_MS / 1000} s`, where: c.container, hint: `see \`docker logs ${c.container}\``, exit: ExitCode.failed });
      }
      const hostKey = await readHostKey(e, c.container);
      if (!hostKey.ok) return hostKey;
      return ok({ name: c.name, container: c.container, address: '127.0.0.1', port: c.port, ip: c.ip, hostKey: hostKey.value });
    }),
  );
  const bad = results.find((r) => !r.ok);
  if (bad && !bad.ok) return bad;
  log(`${cs.length} host${cs.length === 1 ? '' : 's'} ready`);
  return ok(results.map((r) => (r as { ok: true; value: LabHostState }).value));
}

export interface LabDownResult {
  /** False when there was nothing to remove. */
  existed: boolean;
  containers: number;
}

export async function labDown(opts: LabOptions): Promise<Result<LabDownResult>> {
  const log = opts.log ?? quiet;
  const name = checkLabName(opts.name);
  if (!name.ok) return name;
  const dir = labDir(opts.name, opts.stateRoot);
  const eng = await ensureEngine(log);
  if (!eng.ok) return eng;
  const e = eng.value;
  const unlock = await labLock(dir, log);
  try {
    const cs = await labContainers(e, opts.name);
    if (!cs.ok) return cs;
    if (cs.value.length) log(`removing ${cs.value.map((c) => c.name).join(', ')}`);
    const rmd = await removeContainers(e, cs.value.map((c) => c.id));
    if (!rmd.ok) return rmd;
    const net = await removeNetwork(e, opts.name);
    if (!net.ok) return net;
    const hadDir = existsSync(dir);
    await rm(dir, { recursive: true, force: true });
    return ok({ existed: cs.value.length > 0 || net.value || hadDir, containers: cs.value.length });
  } finally {
    await unlock();
  }
}

export interface LabStatusHost {
  name: string;
  container: string;
  /** running, exited, ... or `missing` when lab.json lists a host that has no container. */
  state: string;
  address: string;
  port: number | null;
  ip: string | null;
}

export interface LabStatus {
  name: string;
  exists: boolean;
  dir: string;
  inventoryPath: string | null;
  network: string;
  image: string | null;
  init: HostInit | null;
  runtime: string | null;
  hosts: LabStatusHost[];
}

/** Reads the engine, not only lab.json: ports change when a host restarts. */
export async function labStatus(opts: LabOptions): Promise<Result<LabStatus>> {
  const name = checkLabName(opts.name);
  if (!name.ok) return name;
  const dir = labDir(opts.name, opts.stateRoot);
  const saved = await readLabState(dir);
  if (!saved.ok) return saved;
  const eng = await ensureEngine(opts.log ?? quiet, { start: false });
  if (!eng.ok) return eng;
  const cs = await labContainers(eng.value, opts.name);
  if (!cs.ok) return cs;
  const hosts: LabStatusHost[] = cs.value.map((c) => ({ name: c.name, container: c.container, state: c.status, address: '127.0.0.1', port: c.port ?? null, ip: c.ip ?? null }));
  for (const h of saved.value?.hosts ?? []) {
    if (!hosts.some((x) => x.name === h.name)) hosts.push({ name: h.name, container: h.container, state: 'missing', address: h.address, port: h.port, ip: h.ip });
  }
  return ok({
    name: opts.name,
    exists: cs.value.length > 0 || saved.value !== undefined,
    dir,
    inventoryPath: saved.value ? saved.value.inventoryPath : null,
    network: networkName(opts.name),
    image: saved.value?.image ?? cs.value[0]?.image ?? null,
    init: cs.value[0]?.init ?? saved.value?.init ?? null,
    runtime: saved.value?.runtime ?? null,
    hosts,
  });
}

/** Every lab on the engine, by name, with the state dirs its hosts were made for. */
export async function listLabs(): Promise<Result<Map<string, Set<string>>>> {
  const eng = await ensureEngine(quiet);
  if (!eng.ok) return eng;
  const cs = await labContainers(eng.value);
  if (!cs.ok) return cs;
  const labs = new Map<string, Set<string>>();
  for (const c of cs.value) labs.set(c.lab, (labs.get(c.lab) ?? new Set()).add(c.stateDir));
  return ok(labs);
}
