// The converger's side of registration: after a container passed its gate, hand it to the
// watcher (which keeps it registered while healthy) and wait until the watcher confirms; before a
// container is stopped or replaced, take it out of the registry first (drain).
import type Docker from 'dockerode';
import type { HostFacts } from '../../protocol/agent-protocol.js';
import { docker as dockerClient } from '../docker-client.js';
import type { HealthSpec } from '../health/spec.js';
import { ensureWatcher } from '../watcher/ensure.js';
import { fieldProblem } from '../../lang/registry-check.js';
import { defaultPort } from './advertise.js';
import { readHostConfig } from './host-config.js';
import { readInstance, readStatus, registrationKey, removeInstance, writeInstance, type InstanceFile, type InstanceStatus } from './instance-files.js';
import { openRegistry } from './open.js';
import { done, trouble, type Outcome } from './types.js';

export interface RegistrationRequest {
  /** Container name or id. */
  container: string;
  /** Name in the registry. */
  service: string;
  /** Container port to advertise (default: the first published port, else the health check's port, else the first exposed one). */
  port?: number;
  tags?: string[];
  /** Default: the container's berth.release label, else its image id. */
  release?: string;
  meta?: Record<string, string>;
  health: HealthSpec;
  /** Time to live of the registration (default: the host's registry setting, 10 s). */
  ttlMs?: number;
  /** Restart the container when it stays unhealthy this long. */
  restartAfterMs?: number;
  /** When its gate passed; absent: the watcher waits for its own first healthy check. */
  gatedAt?: string;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Builds the instance file from the request and the container as Docker reports it. */
export async function instanceFor(req: RegistrationRequest, docker: Docker): Promise<Outcome<InstanceFile>> {
  const info = await docker.getContainer(req.container).inspect().catch((e: Error) => e);
  if (info instanceof Error) return trouble('registry.no-container', `cannot register ${req.container}: ${info.message}`);
  const port = req.port ?? defaultPort(info, req.health.http?.port ?? req.health.tcp?.port);
  if (port === undefined) return trouble('registry.no-port', `${req.container}: which port should be registered? it publishes and exposes none`, 'set register.port');
  const config = readHostConfig();
  // The schema lets templated values through to here; other hosts would drop a bad entry anyway.
  const bad = fieldProblem('service', req.service) ?? fieldProblem('tags', req.tags) ?? fieldProblem('release', req.release) ?? fieldProblem('meta', req.meta) ?? fieldProblem('id', info.Name.replace(/^\//, ''));
  if (bad) return trouble('registry.params', `cannot register ${req.container}: ${bad}`);
  return done({
    id: info.Name.replace(/^\//, ''),
    service: req.service,
    container: info.Name.replace(/^\//, ''),
    containerId: info.Id,
    port,
    tags: req.tags ?? [],
    release: req.release ?? info.Config.Labels?.['berth.release'] ?? info.Image.replace(/^sha256:/, '').slice(0, 12),
    ...(req.meta ? { meta: req.meta } : {}),
    health: req.health,
    ttlMs: req.ttlMs ?? config.ttlMs,
    ...(req.restartAfterMs !== undefined ? { restartAfterMs: req.restartAfterMs } : {}),
    ...(req.gatedAt ? { gatedAt: req.gatedAt } : {}),
    writtenAt: new Date().toISOString(),
  });
}

/**
 * Registers a (gated) container: writes its instance file, makes sure the watcher runs this
 * agent's version, and waits until the watcher says it is registered (or why it is not).
 */
export async function registerInstance(req: RegistrationRequest, facts: Pick<HostFacts, 'init'>, opts: { waitMs?: number; signal?: AbortSignal } = {}): Promise<Outcome<InstanceStatus>> {
  const docker = await dockerClient();
  const file = await instanceFor(req, docker);
  if (!file.ok) return file;
  const t0 = Date.now();
  writeInstance(file.value);
  const w = await ensureWatcher(facts);
  if (!w.ok) return w;
  const until = t0 + (opts.waitMs ?? 15_000);
  const asked = registrationKey(file.value);
  let last: InstanceStatus | undefined;
  while (Date.now() < until && !opts.signal?.aborted) {
    last = readStatus(file.value.id);
    // Only the watcher's word on this registration counts: the monitor of the one it replaces
    // (another release, other tags) still says "registered" until the watcher rescans.
    const fresh = last && last.containerId === file.value.containerId && last.registration === asked && Date.parse(last.updatedAt) >= t0 - 1000;
    if (fresh && last!.registered) return done(last!);
    if (fresh && last!.error && Date.now() - t0 > 3000) break;
    await sleep(100);
  }
  const why = last?.error ?? (last ? `health ${last.health}: ${last.lastOutput}` : 'the watcher has not reported on it');
  return trouble('registry.not-registered', `${file.value.id} is not registered as ${req.service}: ${why}`);
}

/**
 * Takes a container out of the registry now (before it is stopped or replaced: clients stop
 * being sent to it first). Idempotent; false when it was not registered here.
 */
export async function deregisterInstance(container: string, facts: Pick<HostFacts, 'init'>): Promise<Outcome<boolean>> {
  const id = container.replace(/^\//, '');
  const file = readInstance(id);
  if (!file) return done(false);
  removeInstance(id);
  // The watcher withdraws it on SIGHUP; withdrawing here as well makes it certain and immediate,
  // whether or not a watcher runs.
  const w = await ensureWatcher(facts);
  const config = readHostConfig();
  const reg = await openRegistry(config.backend, config.host);
  if (!reg.ok) return reg;
  try {
    for (let i = 0; i < 30 && readStatus(id); i++) await sleep(100);
    const r = await reg.value.deregister(file.service, config.host, id);
    if (!r.ok) return r;
  } finally {
    await reg.value.close({ handover: true });
  }
  return w.ok ? done(true) : w;
}
