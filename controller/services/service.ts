// A service of a play, from its Compose-style block to the ServiceSpec the agent converges: the
// service's own container, its sidecars, its replicas and what it waits for. Names that point at
// other containers are resolved here, where the whole play is known.
import type { ContainerRef, DependsOn, ReleaseOrigin, ServiceSpec, UpdateSpec } from '../../modules/service-spec.js';
import type { Rollout } from '../../schema/rollout.js';
import type { Service } from '../../schema/service.js';
import { normalizeContainer, type ContainerContext, type SpecProblem } from './container.js';
import { parseMs } from './units.js';

export interface ServiceContext {
  /** The playbook's name as berth uses it in labels and container and volume names. */
  project: string;
  baseDir: string;
  /** Names of every service of the play. */
  services: ReadonlySet<string>;
  /** How long a dependency may take to get ready, unless the dependency says otherwise. */
  defaultWaitMs: number;
  /** The play's `rollout:`; a service's own `update:` wins key by key. */
  rollout?: Rollout;
  origin?: ReleaseOrigin;
  /** What berth ships for the service's own container (a Compose service's relative binds, configs, secrets). */
  shipped?: ContainerContext['shipped'];
}

// Nomad's update defaults where berth has the same setting; drain is Kamal-like but short,
// because the ambassador's reload already lets established connections finish.
const DEFAULT_UPDATE: UpdateSpec = { order: 'start-first', drainMs: 2_000, healthyDeadlineMs: 5 * 60_000, minHealthyMs: 10_000 };

/** The host-local half of a service's rollout settings: play `rollout:` then service `update:`. */
export function updateSettings(play: Rollout | undefined, own: Rollout | undefined): UpdateSpec {
  const r = { ...(play ?? {}), ...(own ?? {}) };
  const ms = (v: string | number | undefined, d: number) => (v === undefined ? d : (parseMs(v) ?? d));
  return {
    order: r.order ?? DEFAULT_UPDATE.order,
    drainMs: ms(r.drain_time, DEFAULT_UPDATE.drainMs),
    healthyDeadlineMs: ms(r.healthy_deadline, DEFAULT_UPDATE.healthyDeadlineMs),
    minHealthyMs: ms(r.min_healthy_time, DEFAULT_UPDATE.minHealthyMs),
  };
}

export interface NormalizedService {
  spec: ServiceSpec;
  /** Qualified named volumes and networks the service's containers use. */
  volumes: string[];
  networks: string[];
  /** Services this one must come after: depends_on plus those it shares namespaces or volumes with. */
  after: string[];
}

export type ServiceResult = { ok: true; value: NormalizedService } | { ok: false; problem: SpecProblem };

export const qualifier = (project: string) => (name: string) => `${project}_${name}`;

export function normalizeService(name: string, svc: Service, ctx: ServiceContext): ServiceResult {
  const sidecarNames = new Set(Object.keys(svc.sidecars ?? {}));
  if ((svc.job || svc.schedule) && sidecarNames.size) {
    return { ok: false, problem: { key: ['sidecars'], message: 'a job cannot have sidecars: they would start only after it ended', hint: 'run the helper as a service of its own, or inside the job\'s command' } };
  }
  const qualify = qualifier(ctx.project);
  const job = svc.job === true || svc.schedule !== undefined;

  // From a container of this service (its own, or sidecar `self`), what does NAME point at?
  const refFrom = (self: string | undefined) => (target: string): ContainerRef | string => {
    if (target === name && self !== undefined) return { kind: 'service', service: name, sameReplica: true };
    if (sidecarNames.has(target) && target !== self) return { kind: 'service', service: name, sidecar: target, sameReplica: true };
    if (target !== name && ctx.services.has(target)) return { kind: 'service', service: target, sameReplica: false };
    return `"${target}" is not a service of this play${self === undefined ? ' nor a sidecar of this service' : ' nor a sidecar of its service'}`;
  };

  // Compose names a built image after the project and service when `image:` does not.
  const imageOf = <T extends { image?: string; build?: unknown }>(c: T, suffix: string): T => (c.image || c.build === undefined ? c : { ...c, image: `${ctx.project}-${suffix}` });
  const main = normalizeContainer(imageOf(svc, name), { baseDir: ctx.baseDir, qualify, ref: refFrom(undefined), aliases: [name], shipped: ctx.shipped });
  if (!main.ok) return main;
  const sidecars: ServiceSpec['sidecars'] = [];
  const volumes = new Set(main.volumes);
  const networks = new Set(main.networks);
  const refs = [...main.refs];
  for (const [side, sc] of Object.entries(svc.sidecars ?? {})) {
    const r = normalizeContainer(imageOf(sc, `${name}-${side}`), { baseDir: ctx.baseDir, qualify, ref: refFrom(side), aliases: [`${name}-${side}`] });
    if (!r.ok) return { ok: false, problem: { ...r.problem, key: ['sidecars', side, ...r.problem.key] } };
    // A sidecar lives and dies with its service: without a policy of its own it takes the
    // service's, so a host that reboots brings back the service and its sidecars together.
    const restart = r.spec.restart ?? main.spec.restart;
    sidecars.push({ name: side, spec: restart ? { ...r.spec, restart } : r.spec });
    r.volumes.forEach((v) => volumes.add(v));
    r.networks.forEach((n) => networks.add(n));
    refs.push(...r.refs);
  }
  const order = sidecarOrder(sidecars);
  if (typeof order === 'string') return { ok: false, problem: { key: ['sidecars'], message: order } };

  const dependsOn = dependencies(svc, ctx);
  for (const r of refs) {
    if (r.kind === 'service' && r.service !== name && !dependsOn.some((d) => d.service === r.service)) {
      dependsOn.push({ service: r.service, condition: 'service_started', required: true, timeoutMs: ctx.defaultWaitMs });
    }
  }
  const replicas = svc.replicas ?? svc.deploy?.replicas ?? 1;
  const spec: ServiceSpec = {
    playbook: ctx.project,
    service: name,
    replicas,
    job,
    ...(svc.container_name ? { containerName: svc.container_name } : {}),
    main: main.spec,
    sidecars: order,
    dependsOn,
    ...(svc.schedule ? { schedule: svc.schedule } : {}),
    ...(svc.build !== undefined ? { build: svc.build } : {}),
    ...(svc.health ? { health: svc.health } : {}),
    ...(svc.register ? { register: { name: svc.register.name ?? name, ...(svc.register.port !== undefined ? { port: svc.register.port } : {}), tags: svc.register.tags ?? [], meta: strings(svc.register.meta) } } : {}),
    ...(job ? {} : { update: updateSettings(ctx.rollout, svc.update) }),
    ...(ctx.origin ? { origin: ctx.origin } : {}),
  };
  return { ok: true, value: { spec, volumes: [...volumes].sort(), networks: [...networks].sort(), after: [...new Set(dependsOn.map((d) => d.service))] } };
}

function dependencies(svc: Service, ctx: ServiceContext): DependsOn[] {
  const d = svc.depends_on;
  if (d === undefined) return [];
  if (Array.isArray(d)) return d.map((service) => ({ service, condition: 'service_started', required: true, timeoutMs: ctx.defaultWaitMs }));
  return Object.entries(d).map(([service, o]) => ({ service, condition: o.condition as DependsOn['condition'], required: o.required ?? true, timeoutMs: ctx.defaultWaitMs }));
}

/** Sidecars that point at a sibling come after it; a cycle among them cannot be created at all. */
function sidecarOrder(sidecars: ServiceSpec['sidecars']): ServiceSpec['sidecars'] | string {
  const byName = new Map(sidecars.map((s) => [s.name, s]));
  const needs = (s: ServiceSpec['sidecars'][number]) => {
    const spec = s.spec;
    const refs = [...spec.volumesFrom.map((v) => v.ref), ...(spec.network.mode === 'ref' ? [spec.network.ref] : []), ...[spec.pid, spec.ipc].flatMap((n) => (n && 'ref' in n ? [n.ref as ContainerRef] : []))];
    return refs.flatMap((r) => (r.kind === 'service' && r.sidecar && byName.has(r.sidecar) ? [r.sidecar] : []));
  };
  const out: ServiceSpec['sidecars'] = [];
  const state = new Map<string, 'open' | 'done'>();
  const visit = (s: ServiceSpec['sidecars'][number], trail: string[]): string | undefined => {
    if (state.get(s.name) === 'done') return undefined;
    if (state.get(s.name) === 'open') return `sidecars point at each other in a cycle: ${[...trail, s.name].join(' -> ')}`;
    state.set(s.name, 'open');
    for (const n of needs(s)) {
      const problem = visit(byName.get(n)!, [...trail, s.name]);
      if (problem) return problem;
    }
    state.set(s.name, 'done');
    out.push(s);
    return undefined;
  };
  for (const s of sidecars) {
    const problem = visit(s, []);
    if (problem) return problem;
  }
  return out;
}

/** Services in an order where each comes after what it waits for (the validator rejects cycles). */
export function dependencyOrder(services: Map<string, NormalizedService>): string[] {
  const out: string[] = [];
  const seen = new Set<string>();
  const visit = (name: string) => {
    if (seen.has(name)) return;
    seen.add(name);
    for (const dep of services.get(name)?.after ?? []) if (services.has(dep)) visit(dep);
    out.push(name);
  };
  for (const name of services.keys()) visit(name);
  return out;
}


/** A map of Compose scalars (labels, driver options, meta) as strings. */
export const strings = (m: Record<string, unknown> | undefined): Record<string, string> => Object.fromEntries(Object.entries(m ?? {}).map(([k, v]) => [k, String(v ?? '')]));
