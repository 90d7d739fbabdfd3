// One container of a service (the service's own, or a sidecar's), from Compose keys to the
// normalised ContainerSpec: every short form expanded, every unit converted, every name that
// points elsewhere (volumes, networks, other containers) resolved. Pure apart from env_file.
import { parse as shellParse } from 'shell-quote';
import { split as shlexSplit } from 'shlex';
import type { ContainerRef, ContainerSpec, Mount, NamespaceMode, NetworkMode } from '../../modules/service-spec.js';
import type { Service, Sidecar } from '../../schema/service.js';
import { buildEnv, keyValues } from './env.js';
import { parsePort } from './ports.js';
import { parseBytes, parseMs, parseNanoCpus } from './units.js';
import { parseVolume } from './volumes.js';

export type ContainerInput = Sidecar & { deploy?: Service['deploy'] };

export interface ContainerContext {
  /** Folder of the playbook (env_file paths start here). */
  baseDir: string;
  /** Qualifies a volume or network name by the playbook ("web" -> "demo_web"). */
  qualify: (name: string) => string;
  /** What a "service:NAME" / volumes_from name points at, or a message when it points nowhere. */
  ref: (name: string) => ContainerRef | string;
  /** DNS names this container answers to on every network it joins. */
  aliases: string[];
  /** Mounts of what berth ships to the host: each relative bind by its place in volumes, then configs and secrets. */
  shipped?: { byVolume: ReadonlyMap<number, Mount>; extra: Mount[] };
}

/** A problem with one key of the container, for the caller to place in the playbook. */
export interface SpecProblem {
  key: Array<string | number>;
  message: string;
  hint?: string;
}

type Fail = { ok: false; problem: SpecProblem };
export type ContainerResult = { ok: true; spec: ContainerSpec; volumes: string[]; networks: string[]; refs: ContainerRef[] } | Fail;
type RefTo = (name: string, key: Array<string | number>) => ContainerRef | Fail;
const isFail = (x: unknown): x is Fail => typeof x === 'object' && x !== null && (x as { ok?: unknown }).ok === false;

export function normalizeContainer(c: ContainerInput, ctx: ContainerContext): ContainerResult {
  const fail = (key: Array<string | number>, message: string, hint?: string): Fail => ({ ok: false, problem: { key, message, hint } });
  const refs: ContainerRef[] = [];
  const refTo: RefTo = (name, key) => {
    const r = name.startsWith('container:') ? ({ kind: 'container', name: name.slice('container:'.length) } as const) : ctx.ref(name);
    if (typeof r === 'string') return fail(key, r);
    refs.push(r);
    return r;
  };

  if (!c.image) return fail(['image'], 'needs an image or a build', 'add image: NAME, or build: DIRECTORY (relative to the playbook)');

  const argv = (v: string | string[] | undefined, key: string): string[] | undefined | Fail => {
    if (v === undefined) return undefined;
    if (Array.isArray(v)) return v;
    const tokens = shellParse(v, (name) => `$${name}`);
    if (tokens.some((t) => typeof t !== 'string')) return fail([key], `${key} "${v}" uses shell operators`, `write it as a list: [sh, -c, ${JSON.stringify(v)}]`);
    // The words themselves as written: shell-quote would turn `${x}` into `$x`; nothing is expanded.
    try {
      return shlexSplit(v);
    } catch (e) {
      return fail([key], `${key} "${v}": ${(e as Error).message}`, `close the quote, or write it as a list`);
    }
  };
  const command = argv(c.command, 'command');
  if (isFail(command)) return command;
  const entrypoint = argv(c.entrypoint, 'entrypoint');
  if (isFail(entrypoint)) return entrypoint;

  const env = buildEnv(c.environment, c.env_file, ctx.baseDir);
  if (!env.ok) return fail(['env_file'], env.message, env.hint);

  const ports = [];
  for (const [i, p] of (c.ports ?? []).entries()) {
    const r = parsePort(p);
    if (!r.ok) return fail(['ports', i], r.message);
    ports.push(...r.value);
  }

  const mounts: Mount[] = [];
  for (const [i, v] of (c.volumes ?? []).entries()) {
    const shipped = ctx.shipped?.byVolume.get(i);
    if (shipped) {
      mounts.push(shipped);
      continue;
    }
    const r = parseVolume(v, ctx.qualify);
    if (!r.ok) return fail(['volumes', i], r.message, r.hint);
    mounts.push(r.value);
  }
  mounts.push(...(ctx.shipped?.extra ?? []));
  const tmpfs: Record<string, string> = {};
  for (const t of c.tmpfs === undefined ? [] : Array.isArray(c.tmpfs) ? c.tmpfs : [c.tmpfs]) {
    const at = t.indexOf(':');
    tmpfs[at < 0 ? t : t.slice(0, at)] = at < 0 ? '' : t.slice(at + 1);
  }

  const volumesFrom = [];
  for (const [i, v] of (c.volumes_from ?? []).entries()) {
    const m = /^(.*?)(?::(ro|rw))?$/.exec(v)!;
    const r = refTo(m[1], ['volumes_from', i]);
    if (isFail(r)) return r;
    volumesFrom.push({ ref: r, readOnly: m[2] === 'ro' });
  }

  const network = networkMode(c, ctx, refTo);
  if (isFail(network)) return network;
  const pid = namespace(c.pid, 'pid', refTo);
  if (isFail(pid)) return pid;
  const ipc = namespace(c.ipc, 'ipc', refTo);
  if (isFail(ipc)) return ipc;

  const limits = c.deploy?.resources?.limits;
  const res = c.resources;
  const bytes = (v: string | number | undefined) => (v === undefined ? undefined : parseBytes(v));
  const memory = bytes(res?.memory ?? c.mem_limit ?? limits?.memory);
  const memoryReservation = bytes(res?.memory_reservation ?? c.deploy?.resources?.reservations?.memory);
  const memorySwap = c.memswap_limit === -1 ? -1 : bytes(c.memswap_limit);
  const cpus = res?.cpus ?? c.cpus ?? limits?.cpus;
  const nanoCpus = cpus === undefined ? undefined : parseNanoCpus(cpus);
  const pidsLimit = res?.pids ?? c.pids_limit ?? limits?.pids;

  const restart = restartPolicy(c);
  if (typeof restart === 'string') return fail(['restart'], restart);

  const healthcheck = c.healthcheck === undefined ? undefined : health(c.healthcheck);
  const labels = Object.fromEntries(Object.entries({ ...keyValues(c.deploy?.labels), ...keyValues(c.labels) }).map(([k, v]) => [k, v ?? '']));
  const badLabel = Object.keys(labels).find((k) => k.startsWith('berth.'));
  if (badLabel) return fail(['labels', badLabel], `label "${badLabel}" is reserved: berth.* labels are how berth finds its containers`);

  const spec: ContainerSpec = {
    image: c.image,
    ...defined({
      platform: c.platform,
      command,
      entrypoint,
      workingDir: c.working_dir,
      user: c.user,
      hostname: c.hostname,
      domainname: c.domainname,
    }),
    env: env.value,
    labels,
    ports,
    expose: (c.expose ?? []).flatMap((e) => expose(e)),
    mounts,
    volumesFrom,
    network,
    ...defined({ pid, ipc, readOnly: c.read_only }),
    tmpfs,
    capAdd: c.cap_add ?? [],
    capDrop: c.cap_drop ?? [],
    securityOpt: c.security_opt ?? [],
    ...defined({
      memory,
      memoryReservation,
      memorySwap,
      cpuShares: res?.cpu_shares ?? c.cpu_shares,
      nanoCpus,
      pidsLimit,
      shmSize: bytes(c.shm_size),
    }),
    ulimits: Object.entries(c.ulimits ?? {}).map(([name, v]) => (typeof v === 'number' ? { name, soft: v, hard: v } : { name, soft: v.soft, hard: v.hard })),
    ...defined({
      restart,
      logging: c.logging ? { driver: c.logging.driver ?? 'json-file', options: Object.fromEntries(Object.entries(c.logging.options ?? {}).map(([k, v]) => [k, String(v)])) } : undefined,
      healthcheck,
      stopSignal: c.stop_signal === undefined ? undefined : c.stop_signal.startsWith('SIG') ? c.stop_signal : `SIG${c.stop_signal}`,
      stopGraceMs: c.stop_grace_period === undefined ? undefined : parseMs(c.stop_grace_period),
    }),
    extraHosts: extraHosts(c.extra_hosts),
    dns: list(c.dns),
    dnsSearch: list(c.dns_search),
    ...defined({ init: c.init, privileged: c.privileged, tty: c.tty, stdinOpen: c.stdin_open }),
    devices: (c.devices ?? []).map((d) => {
      const [host, container, permissions] = d.split(':');
      return { host, container: container ?? host, permissions: permissions ?? 'rwm' };
    }),
    sysctls: Object.fromEntries(Object.entries(keyValues(c.sysctls)).map(([k, v]) => [k, v ?? ''])),
  };
  const volumes = mounts.flatMap((m) => (m.type === 'volume' && m.source ? [m.source] : []));
  const networks = network.mode === 'networks' ? network.networks.map((n) => n.name) : [];
  return { ok: true, spec, volumes, networks, refs };
}

function networkMode(c: ContainerInput, ctx: ContainerContext, refTo: RefTo): NetworkMode | Fail {
  const mode = c.network_mode;
  if (mode === 'host' || mode === 'none' || mode === 'bridge') return { mode };
  if (mode !== undefined) {
    const r = refTo(mode.startsWith('service:') ? mode.slice('service:'.length) : mode, ['network_mode']);
    return isFail(r) ? r : { mode: 'ref', ref: r };
  }
  const given = c.networks === undefined ? { default: null } : Array.isArray(c.networks) ? Object.fromEntries(c.networks.map((n) => [n, null])) : c.networks;
  const entries = Object.entries(given).sort(([, a], [, b]) => (b?.priority ?? 0) - (a?.priority ?? 0));
  return {
    mode: 'networks',
    networks: entries.map(([name, opts]) => ({
      name: ctx.qualify(name),
      aliases: [...new Set([...ctx.aliases, ...(opts?.aliases ?? [])])],
      ...defined({ ipv4: opts?.ipv4_address, ipv6: opts?.ipv6_address }),
    })),
  };
}

function namespace(v: string | undefined, key: string, refTo: RefTo): NamespaceMode | Fail | undefined {
  if (v === undefined) return undefined;
  if (!v.startsWith('service:') && !v.startsWith('container:')) return { mode: v };
  const r = refTo(v.startsWith('service:') ? v.slice('service:'.length) : v, [key]);
  return isFail(r) ? r : { mode: 'ref', ref: r };
}

function restartPolicy(c: ContainerInput): ContainerSpec['restart'] | string | undefined {
  if (c.restart !== undefined) {
    const m = /^(no|always|unless-stopped|on-failure)(?::(\d+))?$/.exec(c.restart);
    if (!m) return `restart "${c.restart}": expected no, always, on-failure[:N] or unless-stopped`;
    return { name: m[1], ...(m[2] ? { maxRetries: Number(m[2]) } : {}) };
  }
  const p = c.deploy?.restart_policy;
  if (p?.condition) return { name: { none: 'no', 'on-failure': 'on-failure', any: 'always' }[p.condition]!, ...(p.max_attempts !== undefined ? { maxRetries: p.max_attempts } : {}) };
  // Docker's default ("no"), as in Compose: restarting is a choice the playbook makes.
  return undefined;
}

function health(h: NonNullable<ContainerInput['healthcheck']>): ContainerSpec['healthcheck'] {
  if (h.disable) return { test: ['NONE'] };
  const test = h.test === undefined ? [] : typeof h.test === 'string' ? ['CMD-SHELL', h.test] : ['CMD', 'CMD-SHELL', 'NONE'].includes(h.test[0]) ? h.test : ['CMD', ...h.test];
  const ms = (v: string | number | undefined) => (v === undefined ? undefined : parseMs(v));
  return { test, ...defined({ intervalMs: ms(h.interval), timeoutMs: ms(h.timeout), retries: h.retries, startPeriodMs: ms(h.start_period), startIntervalMs: ms(h.start_interval) }) };
}

function expose(e: number | string): Array<{ port: number; protocol: string }> {
  if (typeof e === 'number') return [{ port: e, protocol: 'tcp' }];
  const [ports, protocol = 'tcp'] = e.split('/');
  const [lo, hi = lo] = ports.split('-').map(Number);
  return Array.from({ length: hi - lo + 1 }, (_, i) => ({ port: lo + i, protocol }));
}

function extraHosts(v: ContainerInput['extra_hosts']): string[] {
  if (v === undefined) return [];
  if (!Array.isArray(v)) return Object.entries(v).map(([name, addr]) => `${name}:${addr}`);
  return v.map((line) => {
    const at = line.search(/[:=]/);
    return `${line.slice(0, at)}:${line.slice(at + 1)}`;
  });
}

const list = (v: string | string[] | undefined): string[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

/** Drops undefined values, so the canonical JSON (and the config hash) never sees them. */
function defined<T extends Record<string, unknown>>(o: T): { [K in keyof T]?: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as { [K in keyof T]?: Exclude<T[K], undefined> };
}
