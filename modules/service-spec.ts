// The normalised form of a service as it travels in a plan: every Compose short form expanded,
// sizes in bytes, durations in milliseconds, names of networks and volumes already qualified by
// the playbook. The controller builds it (controller/services/), the agent turns it into Engine
// API calls (agent/services/); neither side knows the other's details. The config hash is taken
// over a ContainerSpec, so everything that must not force a recreate lives outside of it.
import { Type, type Static } from '@sinclair/typebox';

const Str = Type.String();
const StrMap = Type.Record(Type.String(), Type.String());
const Opt = Type.Optional;

/**
 * Another container this one points at (network_mode / pid / ipc "service:NAME", volumes_from).
 * `sameReplica`: the container of the same replica (a sidecar pointing at its service, or at a
 * sibling sidecar); otherwise the service's first replica, as Compose does.
 */
export const ContainerRef = Type.Union([
  Type.Object({ kind: Type.Literal('service'), service: Str, sidecar: Opt(Str), sameReplica: Type.Boolean() }),
  Type.Object({ kind: Type.Literal('container'), name: Str }),
]);
export type ContainerRef = Static<typeof ContainerRef>;

export const PortBinding = Type.Object({
  target: Type.Integer(),
  protocol: Type.Union([Type.Literal('tcp'), Type.Literal('udp'), Type.Literal('sctp')]),
  /** Host port or range ("8080", "8000-8010"); absent: a random free port. */
  published: Opt(Str),
  hostIp: Opt(Str),
});
export type PortBinding = Static<typeof PortBinding>;

export const Mount = Type.Object({
  type: Type.Union([Type.Literal('volume'), Type.Literal('bind'), Type.Literal('tmpfs')]),
  /** Qualified volume name or absolute host path; absent for tmpfs and anonymous volumes. */
  source: Opt(Str),
  target: Str,
  readOnly: Opt(Type.Boolean()),
  nocopy: Opt(Type.Boolean()),
  propagation: Opt(Str),
  createHostPath: Opt(Type.Boolean()),
  selinux: Opt(Str),
  tmpfsSize: Opt(Type.Integer()),
  tmpfsMode: Opt(Type.Integer()),
  /**
   * A bind of what berth ships into the project's folder (a Compose file's relative bind mount,
   * config or secret): `source` is then below berth's projects folder on the host
   * (`<project>/files/conf`), and this is the hash of the shipped content, so that changed
   * content changes the container's config hash.
   */
  shipped: Opt(Str),
});
export type Mount = Static<typeof Mount>;

/** A file berth ships into a project's folder on the host, before the containers that bind it. */
export const ProjectFile = Type.Object({
  /** Below berth's projects folder: `<project>/files/conf/app.yml`. */
  path: Str,
  sha256: Str,
  size: Type.Integer(),
  mode: Type.Integer(),
  uid: Opt(Type.Integer()),
  gid: Opt(Type.Integer()),
});
export type ProjectFile = Static<typeof ProjectFile>;

export const NetworkAttachment = Type.Object({
  /** Qualified network name. */
  name: Str,
  aliases: Type.Array(Str),
  ipv4: Opt(Str),
  ipv6: Opt(Str),
});
export type NetworkAttachment = Static<typeof NetworkAttachment>;

export const NetworkMode = Type.Union([
  /** Join these networks (the first at create time, the others before start). */
  Type.Object({ mode: Type.Literal('networks'), networks: Type.Array(NetworkAttachment) }),
  Type.Object({ mode: Type.Union([Type.Literal('bridge'), Type.Literal('host'), Type.Literal('none')]) }),
  Type.Object({ mode: Type.Literal('ref'), ref: ContainerRef }),
]);
export type NetworkMode = Static<typeof NetworkMode>;

export const NamespaceMode = Type.Union([Type.Object({ mode: Type.Literal('ref'), ref: ContainerRef }), Type.Object({ mode: Str })]);
export type NamespaceMode = Static<typeof NamespaceMode>;

export const Healthcheck = Type.Object({
  /** ["CMD", ...], ["CMD-SHELL", line] or ["NONE"] (turns the image's check off). */
  test: Type.Array(Str),
  intervalMs: Opt(Type.Number()),
  timeoutMs: Opt(Type.Number()),
  retries: Opt(Type.Integer()),
  startPeriodMs: Opt(Type.Number()),
  startIntervalMs: Opt(Type.Number()),
});
export type Healthcheck = Static<typeof Healthcheck>;

export const ContainerSpec = Type.Object({
  image: Str,
  platform: Opt(Str),
  command: Opt(Type.Array(Str)),
  entrypoint: Opt(Type.Array(Str)),
  workingDir: Opt(Str),
  user: Opt(Str),
  hostname: Opt(Str),
  domainname: Opt(Str),
  env: StrMap,
  labels: StrMap,
  ports: Type.Array(PortBinding),
  expose: Type.Array(Type.Object({ port: Type.Integer(), protocol: Str })),
  mounts: Type.Array(Mount),
  volumesFrom: Type.Array(Type.Object({ ref: ContainerRef, readOnly: Type.Boolean() })),
  network: NetworkMode,
  pid: Opt(NamespaceMode),
  ipc: Opt(NamespaceMode),
  readOnly: Opt(Type.Boolean()),
  /** tmpfs mounts by path, value = mount options ("size=64m"), "" for none. */
  tmpfs: StrMap,
  capAdd: Type.Array(Str),
  capDrop: Type.Array(Str),
  securityOpt: Type.Array(Str),
  memory: Opt(Type.Integer()),
  memoryReservation: Opt(Type.Integer()),
  memorySwap: Opt(Type.Integer()),
  cpuShares: Opt(Type.Integer()),
  nanoCpus: Opt(Type.Integer()),
  pidsLimit: Opt(Type.Integer()),
  shmSize: Opt(Type.Integer()),
  ulimits: Type.Array(Type.Object({ name: Str, soft: Type.Integer(), hard: Type.Integer() })),
  restart: Opt(Type.Object({ name: Str, maxRetries: Opt(Type.Integer()) })),
  logging: Opt(Type.Object({ driver: Str, options: StrMap })),
  healthcheck: Opt(Healthcheck),
  stopSignal: Opt(Str),
  stopGraceMs: Opt(Type.Number()),
  /** "name:address" lines for /etc/hosts. */
  extraHosts: Type.Array(Str),
  dns: Type.Array(Str),
  dnsSearch: Type.Array(Str),
  init: Opt(Type.Boolean()),
  privileged: Opt(Type.Boolean()),
  tty: Opt(Type.Boolean()),
  stdinOpen: Opt(Type.Boolean()),
  devices: Type.Array(Type.Object({ host: Str, container: Str, permissions: Str })),
  sysctls: StrMap,
});
export type ContainerSpec = Static<typeof ContainerSpec>;

export const DependsOn = Type.Object({
  service: Str,
  condition: Type.Union([Type.Literal('service_started'), Type.Literal('service_healthy'), Type.Literal('service_completed_successfully')]),
  /** false: a dependency that never gets ready is a warning, not a failure. */
  required: Type.Boolean(),
  timeoutMs: Type.Number(),
});
export type DependsOn = Static<typeof DependsOn>;

/**
 * How a change reaches this host's instances of a service (the host-local half of a rollout;
 * batches of hosts are the controller's). Never part of the config hash.
 */
export const UpdateSpec = Type.Object({
  /** start-first: the new container runs and passes its gate beside the old one before the old one goes. */
  order: Type.Union([Type.Literal('start-first'), Type.Literal('stop-first')]),
  /** How long a deregistered instance keeps serving what it already has before it is stopped. */
  drainMs: Type.Number(),
  /** How long the gate may wait for a new instance to become healthy. */
  healthyDeadlineMs: Type.Number(),
  /** How long a new instance must stay healthy after its gate before the next one is replaced. */
  minHealthyMs: Type.Number(),
});
export type UpdateSpec = Static<typeof UpdateSpec>;

/** The service's `register:`: which name, port and tags its healthy instances get in the registry. */
export const RegisterSpec = Type.Object({ name: Str, port: Opt(Type.Integer()), tags: Type.Array(Str), meta: StrMap });
export type RegisterSpec = Static<typeof RegisterSpec>;

/** Registry credentials for one image, from the playbook's `registries:` (a secret's value: masked). */
export const PullAuth = Type.Object({ username: Str, password: Str, registry: Opt(Str) });
export type PullAuth = Static<typeof PullAuth>;

/**
 * How a service's image that comes from a registry gets to the host: Compose's pull_policy
 * (`if_not_present` is `missing`; `build` never reaches here, a build is not a pull). The
 * controller resolves a tag to one digest per run, before the play (controller/services/
 * pin-digests.ts): every host then pulls that digest, so a tag that moves mid-rollout cannot
 * split the fleet. Never part of the config hash.
 */
export const PullSpec = Type.Object({
  policy: Type.Union([Type.Literal('always'), Type.Literal('missing'), Type.Literal('never')]),
  /** repository@sha256:... this run pulls, when the controller resolved the tag. */
  digest: Opt(Str),
  /** The registry's answer when the controller could not resolve the tag: a host that must pull fails with it. */
  unresolved: Opt(Type.Object({ message: Str, hint: Opt(Str) })),
  auth: Opt(PullAuth),
});
export type PullSpec = Static<typeof PullSpec>;

/** Who made a release and from what, recorded in the host's release history. */
export const ReleaseOrigin = Type.Object({ operator: Str, revision: Str, runId: Str });
export type ReleaseOrigin = Static<typeof ReleaseOrigin>;

/** Params of the agent's `services.converge` task: one service and its sidecars on one host. */
export const ServiceSpec = Type.Object({
  playbook: Str,
  service: Str,
  replicas: Type.Integer(),
  /** Run to completion (once per release) instead of being kept running. */
  job: Type.Boolean(),
  /** A fixed container name (Compose's container_name, one replica only). */
  containerName: Opt(Str),
  main: ContainerSpec,
  sidecars: Type.Array(Type.Object({ name: Str, spec: ContainerSpec })),
  dependsOn: Type.Array(DependsOn),
  /** How long a job may run before it counts as failed. */
  jobTimeoutMs: Opt(Type.Number()),
  /** A job's cron schedule: the job is prepared on apply and run by a timer, not by apply. */
  schedule: Opt(Str),
  /**
   * The service's `build:` as the controller prepared it, opaque here: only the image seam
   * (agent/services/image.ts) reads it. Never part of the config hash.
   */
  build: Opt(Type.Unknown()),
  /** image reference -> how it is pulled, for each image of the service (sidecars too) that comes from a registry. */
  pull: Opt(Type.Record(Str, PullSpec)),
  /** berth's health check (schema/service.ts Health, normalised on the host): the gate of each new instance. */
  health: Opt(Type.Unknown()),
  register: Opt(RegisterSpec),
  update: Opt(UpdateSpec),
  origin: Opt(ReleaseOrigin),
  /** image reference -> image id: a rollback boots the images a recorded release ran, never a rebuild. */
  pinned: Opt(StrMap),
  /** Files the service's mounts bind from the project's folder, written before its containers change. */
  files: Opt(Type.Array(ProjectFile)),
});
export type ServiceSpec = Static<typeof ServiceSpec>;

/** Params of `services.network`: a network the play's services join. */
export const NetworkSpec = Type.Object({
  playbook: Str,
  name: Str,
  driver: Str,
  internal: Type.Boolean(),
  attachable: Type.Boolean(),
  options: StrMap,
  labels: StrMap,
  /** Made outside berth: must exist, is never created or changed. */
  external: Type.Boolean(),
});
export type NetworkSpec = Static<typeof NetworkSpec>;

/** Params of `services.volume`: a named volume the play's services mount. */
export const VolumeSpec = Type.Object({
  playbook: Str,
  name: Str,
  driver: Str,
  options: StrMap,
  labels: StrMap,
  external: Type.Boolean(),
});
export type VolumeSpec = Static<typeof VolumeSpec>;

/** Params of `services.prune`: containers of this playbook whose service is not in `keep` go. */
export const PruneSpec = Type.Object({ playbook: Str, keep: Type.Array(Str) });
export type PruneSpec = Static<typeof PruneSpec>;

/**
 * Params of `services.restart`: a task notified the service; restart its containers once, or
 * (`on_notify: recreate`) replace them with new ones from `spec`, the service as the playbook says it.
 */
export const RestartSpec = Type.Object({ playbook: Str, service: Str, mode: Opt(Type.Union([Type.Literal('restart'), Type.Literal('recreate')])), spec: Opt(ServiceSpec) });
export type RestartSpec = Static<typeof RestartSpec>;

/** Params of `services.run-job`: one on-demand run of a job (`berth run JOB`), removed after. */
export const RunJobSpec = Type.Object({ service: ServiceSpec, timeoutMs: Opt(Type.Number()) });
export type RunJobSpec = Static<typeof RunJobSpec>;

/**
 * Params of `services.revert`: converge a service back to a release of its history, by its
 * recorded spec and image ids (no build). `to`: a release id (or its prefix); else the newest
 * release not made by run `notRun` (an automatic revert).
 */
export const RevertSpec = Type.Object({ playbook: Str, service: Str, to: Opt(Str), notRun: Opt(Str), origin: Opt(ReleaseOrigin) });
export type RevertSpec = Static<typeof RevertSpec>;

/** Internal task modules: planned by the controller from a play's `services:`, never written by hand. */
export const serviceTaskModules = {
  network: 'services.network',
  volume: 'services.volume',
  converge: 'services.converge',
  prune: 'services.prune',
  restart: 'services.restart',
  runJob: 'services.run-job',
  revert: 'services.revert',
} as const;
