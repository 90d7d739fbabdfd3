// A play's `services:` as tasks of the host's plan, after the play's own tasks: the networks and
// volumes they use, then each service in dependency order, then the removal of containers whose
// service left the playbook. Tasks that `notify` a service get a handler that restarts it once
// (or recreates it, when the service says `on_notify: recreate`).
import { dirname } from 'node:path';
import { serviceTaskModules as M, type NetworkSpec, type PruneSpec, type RestartSpec, type ServiceSpec, type VolumeSpec } from '../../modules/service-spec.js';
import type { PlannedTask } from '../../protocol/agent-protocol.js';
import type { Service } from '../../schema/service.js';
import { err, ok, type BerthError, type Result } from '../errors.js';
import { matchPattern } from '../inventory/pattern.js';
import type { ResolvedHost, ResolvedInventory } from '../inventory/resolve.js';
import type { PlaybookShape, PlayShape } from '../run/playbook-shape.js';
import { runOrigin } from '../run/origin.js';
import { renderValue, type RenderScope } from '../run/render.js';
import type { Rollout } from '../../schema/rollout.js';
import { selectedByTags, type TagFilter } from '../run/tags.js';
import { playServices } from './play-services.js';
import { checkSourcePaths, serviceSourceKeys } from '../prepare/source-paths.js';
import { projectName } from './project.js';
import { dependencyOrder, normalizeService, qualifier, strings, type NormalizedService } from './service.js';
import { prepareServiceBuild } from './service-build.js';
import { pullSpecs } from './pulls.js';
import { registryLogins, type RegistryLoginInput } from './registry-logins.js';
import { BlobRegistry } from '../blobs.js';
import { prepareProjectFiles } from './project-files.js';
import { parseMs } from './units.js';

export interface ServicePlanInput {
  playbookPath: string;
  playbook: PlaybookShape & { name?: string };
  where: (path: Array<string | number>) => string;
  inventory: ResolvedInventory;
  tags: TagFilter;
  /** The run's secret values: a registry password must be one of them. */
  secrets?: string[];
}

export interface ServiceTasks {
  tasks: PlannedTask[];
  handlers: PlannedTask[];
}

const DEFAULT_WAIT_MS = 5 * 60_000;

/** `blobs`: the run's registry, where a service's build context goes (without it, `build` stays as the playbook says). */
export function planServices(o: ServicePlanInput, playIndex: number, host: ResolvedHost, scope: RenderScope, nextIndex: () => number, blobs?: BlobRegistry): Result<ServiceTasks> {
  const play = o.playbook.plays[playIndex];
  const project = projectName(o.playbook.name, o.playbookPath);
  const baseDir = dirname(o.playbookPath);
  const found = playServices(play, baseDir, (p) => o.where(['plays', playIndex, ...p]));
  if (!found.ok) return found;
  const handlers = notifiedServices(o, play, host, project, scope, nextIndex);
  if (!handlers.ok) return handlers;
  const { services, networks, volumes } = found.value;
  const names = Object.keys(services);
  // A play that says `services: {}` still removes what the playbook no longer runs (orphans); a
  // play without the key is a play of host tasks and leaves containers alone.
  const declared = (play as { services?: unknown }).services !== undefined || (play as { compose?: unknown }).compose !== undefined;
  if ((names.length === 0 && !declared) || !selectedByTags(tagList(play.tags), o.tags)) return ok({ tasks: [], handlers: handlers.value });

  const profiles = selectedProfiles(scope.vars.berth_profiles);
  const where = (name: string, key: Array<string | number> = []) => found.value.where(name, key);
  const defaultWaitMs = durationMs((play as { rollout?: { healthy_deadline?: string | number } }).rollout?.healthy_deadline) ?? DEFAULT_WAIT_MS;
  const normalized = new Map<string, NormalizedService>();
  const logins = registryLogins((o.playbook as { registries?: Record<string, RegistryLoginInput> }).registries, scope, o.where, o.secrets);
  for (const name of names) {
    // A Compose file's values are final: `{{ }}` in them is text, not a berth template.
    const rendered = found.value.literal.has(name) ? ok({ value: services[name] }) : renderValue(services[name], scope, where(name));
    if (!rendered.ok) return rendered;
    const svc = rendered.value.value as Service;
    const sources = checkSourcePaths(serviceSourceKeys, services[name], svc, baseDir, (key) => where(name, key));
    if (!sources.ok) return sources;
    if (svc.profiles?.length && !svc.profiles.some((p) => profiles.has(p))) continue;
    const toShip = found.value.shipped[name];
    // Without the run's registry (planning for a fleet command), the hashes are the same.
    const files = toShip ? prepareProjectFiles(project, toShip, blobs ?? new BlobRegistry(), (m) => where(name, m.volume !== undefined ? ['volumes', m.volume] : [`${m.kind}s`])) : undefined;
    if (files && !files.ok) return files;
    const r = normalizeService(name, svc, { project, baseDir, services: new Set(names), defaultWaitMs, rollout: (play as { rollout?: Rollout }).rollout, origin: runOrigin(o.playbookPath), shipped: files?.value });
    if (!r.ok) return err({ code: 'service.spec', message: `service ${name}: ${r.problem.message}`, where: where(name, r.problem.key), hint: r.problem.hint, exit: 2 });
    if (blobs) {
      const b = prepareServiceBuild(r.value.spec, svc, { blobs, baseDir, where: (key) => where(name, key), hostImages: scope.facts?.images });
      if (!b.ok) return b;
      r.value.spec.build = b.value;
    }
    if (files?.value.files.length) r.value.spec.files = files.value.files;
    const pulls = pullSpecs(svc, r.value.spec, logins, (key) => where(name, key));
    if (!pulls.ok) return pulls;
    if (pulls.value) r.value.spec.pull = pulls.value;
    normalized.set(name, r.value);
  }
  // A dependency's own deadline (its `update: healthy_deadline`) bounds how long others wait for it.
  for (const name of normalized.keys()) {
    const own = durationMs((services[name] as Service).update?.healthy_deadline);
    if (own !== undefined) for (const other of normalized.values()) for (const d of other.spec.dependsOn) if (d.service === name) d.timeoutMs = own;
  }

  const task = (name: string, module: string, params: unknown): PlannedTask => ({ index: nextIndex(), name, module, params });
  const tasks: PlannedTask[] = [];
  const qualify = qualifier(project);
  const usedNetworks = new Set([...normalized.values()].flatMap((n) => n.networks));
  for (const full of [...usedNetworks].sort()) {
    const short = full.slice(project.length + 1);
    const decl = networks[short] ?? {};
    const spec: NetworkSpec = {
      playbook: project,
      name: decl.name ?? full,
      driver: decl.driver ?? 'bridge',
      internal: decl.internal === true,
      attachable: decl.attachable === true,
      options: strings(decl.driver_opts),
      labels: strings(decl.labels),
      external: decl.external === true,
    };
    tasks.push(task(`network ${short}`, M.network, spec));
  }
  const usedVolumes = new Set([...normalized.values()].flatMap((n) => n.volumes));
  for (const full of [...usedVolumes].sort()) {
    const short = full.slice(project.length + 1);
    const decl = volumes[short] ?? {};
    const spec: VolumeSpec = { playbook: project, name: decl.name ?? full, driver: decl.driver ?? 'local', options: strings(decl.driver_opts), labels: strings(decl.labels), external: decl.external === true };
    tasks.push(task(`volume ${short}`, M.volume, spec));
  }
  // Declared names replace the qualified ones inside the containers' specs too.
  const renames = new Map<string, string>();
  for (const [short, d] of Object.entries(networks)) if (d.name) renames.set(qualify(short), d.name);
  for (const [short, d] of Object.entries(volumes)) if (d.name) renames.set(qualify(short), d.name);
  for (const name of dependencyOrder(normalized)) {
    const n = normalized.get(name)!;
    const spec = renames.size ? renameResources(n.spec, renames) : n.spec;
    tasks.push(task(`${spec.job ? 'job' : 'service'} ${name}`, M.converge, spec));
  }
  const keep: PruneSpec = { playbook: project, keep: servicesOnHost(o, host) };
  tasks.push(task('remove orphans', M.prune, keep));
  return ok({ tasks, handlers: handlers.value });
}

/** Every service any play of the playbook runs on this host: the rest of berth's containers are orphans. */
function servicesOnHost(o: ServicePlanInput, host: ResolvedHost): string[] {
  const names = new Set<string>();
  o.playbook.plays.forEach((p, i) => {
    const m = matchPattern(p.hosts, o.inventory);
    if (!m.ok || !m.hosts.includes(host.name)) return;
    const found = playServices(p, dirname(o.playbookPath), (path) => o.where(['plays', i, ...path]));
    if (found.ok) Object.keys(found.value.services).forEach((n) => names.add(n));
  });
  return [...names].sort();
}

/**
 * `notify: web` where web is a service of the playbook on this host (and no handler of the play
 * has that name): a handler that restarts the service once, after the play's tasks.
 */
function notifiedServices(o: ServicePlanInput, play: PlayShape, host: ResolvedHost, project: string, scope: RenderScope, nextIndex: () => number): Result<PlannedTask[], BerthError> {
  const handlerNames = new Set((play.handlers ?? []).flatMap((h) => [h.name, ...tagList(h.listen)].filter((x): x is string => typeof x === 'string')));
  const notified = new Set((play.tasks ?? []).flatMap((t) => tagList(t.notify)).filter((n) => !handlerNames.has(n)));
  if (notified.size === 0) return ok([]);
  const services = new Set(servicesOnHost(o, host));
  const out: PlannedTask[] = [];
  for (const service of [...notified].filter((n) => services.has(n))) {
    const recreate = recreateSpec(o, host, service, scope);
    if (!recreate.ok) return recreate;
    const params: RestartSpec = recreate.value ? { playbook: project, service, mode: 'recreate', spec: recreate.value } : { playbook: project, service };
    out.push({ index: nextIndex(), name: service, module: M.restart, params });
  }
  return ok(out);
}

/**
 * For a service with `on_notify: recreate`, its spec exactly as its own play's converge task
 * carries it (the handler makes new containers from it). The service may live in another play
 * (a `base` play's template notifying the `services` play's web): that play's services are
 * planned here with its own vars on top of this play's scope, its tasks left out so that its
 * own handlers are not planned in turn. Undefined for `restart` (the default), and when the
 * service is not converged on this host (a profile leaves it out): a restart then does the rest.
 */
function recreateSpec(o: ServicePlanInput, host: ResolvedHost, service: string, scope: RenderScope): Result<ServiceSpec | undefined, BerthError> {
  const at = o.playbook.plays.findIndex((p, i) => {
    const m = matchPattern(p.hosts, o.inventory);
    if (!m.ok || !m.hosts.includes(host.name)) return false;
    const found = playServices(p, dirname(o.playbookPath), (path) => o.where(['plays', i, ...path]));
    return found.ok && service in found.value.services;
  });
  if (at < 0) return ok(undefined);
  const found = playServices(o.playbook.plays[at], dirname(o.playbookPath), (path) => o.where(['plays', at, ...path]));
  if (!found.ok || (found.value.services[service] as Service).on_notify !== 'recreate') return ok(undefined);
  const home = o.playbook.plays[at];
  const extra = (o as ServicePlanInput & { extraVars?: Record<string, unknown> }).extraVars ?? {};
  const homeScope: RenderScope = { ...scope, vars: { ...scope.vars, ...(home.vars ?? {}), ...extra } };
  const alone: ServicePlanInput = { ...o, tags: { only: [], skip: [] }, playbook: { ...o.playbook, plays: o.playbook.plays.map((p, i) => (i === at ? { ...p, tasks: [] } : p)) } };
  const planned = planServices(alone, at, host, homeScope, () => 0);
  if (!planned.ok) return planned;
  const task = planned.value.tasks.find((t) => t.module === M.converge && (t.params as ServiceSpec).service === service);
  return ok(task ? (task.params as ServiceSpec) : undefined);
}

function renameResources(spec: NormalizedService['spec'], renames: Map<string, string>): NormalizedService['spec'] {
  const fix = (c: NormalizedService['spec']['main']) => ({
    ...c,
    mounts: c.mounts.map((m) => (m.type === 'volume' && m.source && renames.has(m.source) ? { ...m, source: renames.get(m.source) } : m)),
    network: c.network.mode === 'networks' ? { ...c.network, networks: c.network.networks.map((n) => ({ ...n, name: renames.get(n.name) ?? n.name })) } : c.network,
  });
  return { ...spec, main: fix(spec.main), sidecars: spec.sidecars.map((s) => ({ ...s, spec: fix(s.spec) })) };
}

function selectedProfiles(v: unknown): Set<string> {
  if (Array.isArray(v)) return new Set(v.map(String));
  if (typeof v === 'string') return new Set(v.split(',').map((s) => s.trim()).filter(Boolean));
  return new Set();
}

const durationMs = (v: string | number | undefined) => (v === undefined ? undefined : parseMs(v));

const tagList = (t: unknown): string[] => (Array.isArray(t) ? t.map(String) : typeof t === 'string' ? [t] : []);

