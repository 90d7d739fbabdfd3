// A desired container as Engine API requests: the body of POST /containers/create, and the
// networks to connect before it starts (the Engine before API 1.44 takes one network at create
// time). Pure: ids of linked containers and volumes to inherit are looked up by the caller.
import { join } from 'node:path';
import type Docker from 'dockerode';
import type { ContainerRef, ContainerSpec, Mount, NamespaceMode } from '../../modules/service-spec.js';
import type { Desired } from './desired.js';
import { projectsDir } from './project-files.js';

export interface CreateRequest {
  body: Docker.ContainerCreateOptions;
  /** Networks joined after create, before start. */
  connect: Array<{ network: string; endpoint: Record<string, unknown> }>;
}

export interface CreateContext {
  name: string;
  labels: Record<string, string>;
  /** Container id a reference points at (resolved by the caller, at apply time). */
  idOf: (ref: ContainerRef) => string;
  /** Anonymous volumes of the container being replaced, by target: the new one keeps them. */
  inherit?: ReadonlyMap<string, string>;
}

const NS = 1_000_000;

export function createRequest(want: Desired, ctx: CreateContext): CreateRequest {
  const s = want.spec;
  const exposed: Record<string, object> = {};
  const bindings: Record<string, Array<{ HostIp: string; HostPort: string }>> = {};
  for (const p of s.ports) {
    const key = `${p.target}/${p.protocol}`;
    exposed[key] = {};
    (bindings[key] ??= []).push({ HostIp: p.hostIp ?? '', HostPort: p.published ?? '' });
  }
  for (const e of s.expose) exposed[`${e.port}/${e.protocol}`] = {};

  const net = networkMode(s, ctx);
  const [first, ...rest] = s.network.mode === 'networks' ? s.network.networks : [];
  const endpoint = (n: NonNullable<typeof first>) => ({
    Aliases: n.aliases,
    ...(n.ipv4 || n.ipv6 ? { IPAMConfig: { ...(n.ipv4 ? { IPv4Address: n.ipv4 } : {}), ...(n.ipv6 ? { IPv6Address: n.ipv6 } : {}) } } : {}),
  });
  const { binds, mounts } = splitMounts(s.mounts, ctx.inherit);

  const hostConfig: Record<string, unknown> = {
    PortBindings: bindings,
    Binds: binds,
    Mounts: mounts,
    VolumesFrom: s.volumesFrom.map((v) => `${ctx.idOf(v.ref)}:${v.readOnly ? 'ro' : 'rw'}`),
    NetworkMode: net,
    ...ns('PidMode', s.pid, ctx),
    ...ns('IpcMode', s.ipc, ctx),
    ReadonlyRootfs: s.readOnly ?? false,
    Tmpfs: s.tmpfs,
    CapAdd: s.capAdd,
    CapDrop: s.capDrop,
    SecurityOpt: s.securityOpt,
    ...opt('Memory', s.memory),
    ...opt('MemoryReservation', s.memoryReservation),
    ...opt('MemorySwap', s.memorySwap),
    ...opt('CpuShares', s.cpuShares),
    ...opt('NanoCpus', s.nanoCpus),
    ...opt('PidsLimit', s.pidsLimit),
    ...opt('ShmSize', s.shmSize),
    Ulimits: s.ulimits.map((u) => ({ Name: u.name, Soft: u.soft, Hard: u.hard })),
    ...(s.restart ? { RestartPolicy: { Name: s.restart.name, MaximumRetryCount: s.restart.maxRetries ?? 0 } } : {}),
    ...(s.logging ? { LogConfig: { Type: s.logging.driver, Config: s.logging.options } } : {}),
    ExtraHosts: s.extraHosts,
    Dns: s.dns,
    DnsSearch: s.dnsSearch,
    ...opt('Init', s.init),
    Privileged: s.privileged ?? false,
    Devices: s.devices.map((d) => ({ PathOnHost: d.host, PathInContainer: d.container, CgroupPermissions: d.permissions })),
    Sysctls: s.sysctls,
  };

  const body = {
    name: ctx.name,
    ...(s.platform ? { platform: s.platform } : {}),
    Image: s.image,
    ...opt('Cmd', s.command),
    ...opt('Entrypoint', s.entrypoint),
    ...opt('WorkingDir', s.workingDir),
    ...opt('User', s.user),
    // A container in another's network namespace has that one's host name; Docker refuses both.
    ...(s.network.mode === 'ref' ? {} : { ...opt('Hostname', s.hostname), ...opt('Domainname', s.domainname) }),
    Env: Object.entries(s.env)
      .map(([k, v]) => `${k}=${v}`)
      .sort(),
    Labels: { ...s.labels, ...ctx.labels },
    ExposedPorts: exposed,
    ...opt('Tty', s.tty),
    ...opt('OpenStdin', s.stdinOpen),
    ...opt('StopSignal', s.stopSignal),
    ...(s.stopGraceMs !== undefined ? { StopTimeout: Math.ceil(s.stopGraceMs / 1000) } : {}),
    ...(s.healthcheck ? { Healthcheck: health(s.healthcheck) } : {}),
    HostConfig: hostConfig,
    ...(first ? { NetworkingConfig: { EndpointsConfig: { [first.name]: endpoint(first) } } } : {}),
  };
  return { body: body as Docker.ContainerCreateOptions, connect: rest.map((n) => ({ network: n.name, endpoint: endpoint(n) })) };
}

function networkMode(s: ContainerSpec, ctx: CreateContext): string {
  const n = s.network;
  if (n.mode === 'networks') return n.networks[0]?.name ?? 'none';
  if (n.mode === 'ref') return `container:${ctx.idOf(n.ref)}`;
  return n.mode === 'bridge' ? 'bridge' : n.mode;
}

function ns(key: string, mode: NamespaceMode | undefined, ctx: CreateContext): Record<string, string> {
  if (!mode) return {};
  return { [key]: 'ref' in mode ? `container:${ctx.idOf(mode.ref as ContainerRef)}` : (mode as { mode: string }).mode };
}

/**
 * Short-form bind mounts go through `Binds`, which creates a missing host directory as
 * `docker run -v` does (the Mounts API refuses); everything else through `Mounts`.
 */
function splitMounts(list: Mount[], inherit?: ReadonlyMap<string, string>): { binds: string[]; mounts: Array<Record<string, unknown>> } {
  const binds: string[] = [];
  const mounts: Array<Record<string, unknown>> = [];
  for (const m of list) {
    // What berth shipped is bound from the project's folder, wherever berth's directory is on this host.
    const source = m.shipped && m.source ? join(projectsDir(), m.source) : m.source;
    if (m.type === 'bind' && m.createHostPath) {
      const opts = [m.readOnly ? 'ro' : 'rw', ...(m.selinux ? [m.selinux] : []), ...(m.propagation ? [m.propagation] : [])];
      binds.push(`${source}:${m.target}:${opts.join(',')}`);
      continue;
    }
    const base = { Type: m.type, Target: m.target, ReadOnly: m.readOnly ?? false };
    if (m.type === 'bind') mounts.push({ ...base, Source: source, ...(m.propagation ? { BindOptions: { Propagation: m.propagation } } : {}) });
    else if (m.type === 'tmpfs') mounts.push({ ...base, TmpfsOptions: { ...opt('SizeBytes', m.tmpfsSize), ...opt('Mode', m.tmpfsMode) } });
    else mounts.push({ ...base, Source: m.source ?? inherit?.get(m.target) ?? '', ...(m.nocopy ? { VolumeOptions: { NoCopy: true } } : {}) });
  }
  return { binds, mounts };
}

function health(h: NonNullable<ContainerSpec['healthcheck']>): Record<string, unknown> {
  return {
    Test: h.test,
    ...opt('Interval', h.intervalMs === undefined ? undefined : h.intervalMs * NS),
    ...opt('Timeout', h.timeoutMs === undefined ? undefined : h.timeoutMs * NS),
    ...opt('Retries', h.retries),
    ...opt('StartPeriod', h.startPeriodMs === undefined ? undefined : h.startPeriodMs * NS),
    ...opt('StartInterval', h.startIntervalMs === undefined ? undefined : h.startIntervalMs * NS),
  };
}

const opt = <V>(key: string, v: V | undefined): Record<string, V> => (v === undefined ? {} : { [key]: v });
