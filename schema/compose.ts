// The parts of a service that Docker Compose already names: same keys, same short and long
// forms, so a Compose file's service block mostly pastes in as is.
import { Type } from '@sinclair/typebox';
import { Duration, KeyValues, MemorySize, Port, StringEnum, StringOrList, mapOf, patterned, shared, strictObject } from './common.js';

const ipv4 = '\\d{1,3}(?:\\.\\d{1,3}){3}';
const ipv6 = '\\[[0-9A-Fa-f:.]+\\]';
const range = '\\d{1,5}(?:-\\d{1,5})?';
export const portExpected = 'a port like "80", "8080:80", "127.0.0.1:8080:80" or "53:53/udp"';

export const PortSpec = Type.Union(
  [
    patterned(`(?:(?:${ipv4}|${ipv6}):)?(?:(?:${range})?:)?${range}(?:/(?:tcp|udp|sctp))?`, portExpected),
    Port('A container port.'),
    strictObject(
      {
        target: Port('Port inside the container.'),
        published: Type.Optional(Type.Union([Port('Port on the host.'), patterned(range, 'a port or a range like "8000-8010"')], { description: 'Port (or range) on the host.' })),
        host_ip: Type.Optional(Type.String({ description: 'Host address to bind (default: all addresses).' })),
        protocol: Type.Optional(StringEnum(['tcp', 'udp', 'sctp'], { description: 'Protocol (default: tcp).' })),
        mode: Type.Optional(StringEnum(['host', 'ingress'], { description: 'Compose\'s publishing mode; berth always publishes on the host.' })),
        name: Type.Optional(Type.String({ description: 'A name for the port.' })),
      },
      { title: 'port', description: 'Long form of a published port.', required: ['target'] },
    ),
  ],
  { description: 'A published port: short form "[HOST_IP:][HOST_PORT:]CONTAINER_PORT[/PROTOCOL]" or long form.', expected: `${portExpected}, or a mapping with target, published, host_ip, protocol` },
);

export const volumeExpected = 'a volume like "name:/path", "/host/path:/path:ro" or "/path"';

export const VolumeSpec = Type.Union(
  [
    patterned('(?:[^:\\s]+:)?/[^:]*(?::(?:ro|rw|z|Z|cached|delegated|consistent|nocopy)(?:,(?:ro|rw|z|Z|cached|delegated|consistent|nocopy))*)?', volumeExpected),
    strictObject(
      {
        type: StringEnum(['volume', 'bind', 'tmpfs'], { description: 'What to mount.' }),
        source: Type.Optional(Type.String({ description: 'Volume name or host path (none for tmpfs).' })),
        target: Type.String({ pattern: '^/', expected: 'an absolute path', description: 'Path inside the container.' }),
        read_only: Type.Optional(Type.Boolean({ description: 'Mount read-only.' })),
        bind: Type.Optional(
          strictObject(
            {
              propagation: Type.Optional(StringEnum(['rprivate', 'private', 'rshared', 'shared', 'rslave', 'slave'], { description: 'Mount propagation.' })),
              create_host_path: Type.Optional(Type.Boolean({ description: 'Create the host path when it is missing.' })),
              selinux: Type.Optional(StringEnum(['z', 'Z'], { description: 'SELinux relabelling: shared (z) or private (Z).' })),
            },
            { title: 'bind options', description: 'Options of a bind mount.' },
          ),
        ),
        volume: Type.Optional(strictObject({ nocopy: Type.Optional(Type.Boolean({ description: 'Do not copy the image\'s content into a new volume.' })) }, { title: 'volume options', description: 'Options of a named volume.' })),
        tmpfs: Type.Optional(
          strictObject(
            { size: Type.Optional(MemorySize('Size limit of the tmpfs.')), mode: Type.Optional(Type.Integer({ description: 'File mode of the tmpfs root (e.g. 0o1777 written as 1023).' })) },
            { title: 'tmpfs options', description: 'Options of a tmpfs mount.' },
          ),
        ),
      },
      { title: 'volume', description: 'Long form of a mount.', required: ['type', 'target'] },
    ),
  ],
  { description: 'A mount: short form "[SOURCE:]TARGET[:MODE]" or long form.', expected: `${volumeExpected}, or a mapping with type, source, target` },
);

export const Build = Type.Union(
  [
    Type.String({ minLength: 1, description: 'Directory with a Dockerfile, relative to the playbook.' }),
    strictObject(
      {
        context: Type.String({ minLength: 1, description: 'Directory sent to the builder, relative to the playbook.' }),
        dockerfile: Type.Optional(Type.String({ description: 'Dockerfile path inside the context (default: Dockerfile).' })),
        args: Type.Optional(KeyValues('Build arguments (ARG), rendered with the play\'s vars.')),
        target: Type.Optional(Type.String({ description: 'Stage of a multi-stage Dockerfile to build.' })),
        labels: Type.Optional(KeyValues('Labels for the built image.')),
      },
      { title: 'build', description: 'How to build the image.', required: ['context'] },
    ),
  ],
  { description: 'Build the image from a directory instead of (or before tagging it as) `image`: a path, or build options.' },
);

export const Healthcheck = strictObject(
  {
    test: Type.Optional(
      Type.Union([Type.String(), Type.Array(Type.String(), { minItems: 1 })], {
        description: 'Command to run: a shell line, or ["CMD", argv...], ["CMD-SHELL", line], ["NONE"].',
      }),
    ),
    interval: Type.Optional(Duration('Time between checks.')),
    timeout: Type.Optional(Duration('Time a check may take.')),
    retries: Type.Optional(Type.Integer({ minimum: 0, description: 'Consecutive failures before the container is unhealthy.' })),
    start_period: Type.Optional(Duration('Grace time after start during which failures do not count.')),
    start_interval: Type.Optional(Duration('Time between checks during the start period.')),
    disable: Type.Optional(Type.Boolean({ description: 'Turn off the image\'s own HEALTHCHECK.' })),
  },
  { title: 'healthcheck', description: 'Docker\'s own health check, as in Compose (berth gates rollouts on `health`).' },
);

const Resources = strictObject(
  {
    memory: Type.Optional(MemorySize('Memory.')),
    cpus: Type.Optional(Type.Union([Type.Number({ minimum: 0 }), Type.String({ pattern: '^\\d+(?:\\.\\d+)?$', expected: 'a number like "0.5"' })], { description: 'CPUs (fractions allowed).' })),
    pids: Type.Optional(Type.Integer({ minimum: 1, description: 'Processes.' })),
  },
  { title: 'resources', description: 'Amounts of memory, CPU and processes.' },
);

const restartConditions = ['none', 'on-failure', 'any'];

export const Deploy = strictObject(
  {
    replicas: Type.Optional(Type.Integer({ minimum: 0, description: 'Containers per host (same as the service\'s `replicas`).' })),
    resources: Type.Optional(
      strictObject(
        { limits: Type.Optional(Resources), reservations: Type.Optional(Resources) },
        { title: 'deploy resources', description: 'Limits and reservations.' },
      ),
    ),
    restart_policy: Type.Optional(
      strictObject(
        {
          condition: Type.Optional(StringEnum(restartConditions, { description: 'When to restart.' })),
          delay: Type.Optional(Duration('Wait between restarts.')),
          max_attempts: Type.Optional(Type.Integer({ minimum: 0, description: 'Restarts before giving up.' })),
        },
        { title: 'restart policy', description: 'Compose\'s restart policy.' },
      ),
    ),
    labels: Type.Optional(KeyValues('Labels (berth puts them on the containers).')),
  },
  { title: 'deploy', description: 'Compose\'s deploy block: replicas, resources, restart policy and labels.' },
);

export const Logging = strictObject(
  {
    driver: Type.Optional(Type.String({ minLength: 1, description: 'Logging driver (json-file, local, syslog, journald, none, ...).' })),
    options: Type.Optional(mapOf(Type.Union([Type.String(), Type.Number(), Type.Boolean()]), { description: 'Driver options, e.g. max-size: 10m.' })),
  },
  { title: 'logging', description: 'Where the container\'s output goes.' },
);

export const Networks = Type.Union(
  [
    Type.Array(Type.String({ minLength: 1 }), { description: 'Network names.' }),
    mapOf(
      Type.Union([
        Type.Null(),
        strictObject(
          {
            aliases: Type.Optional(Type.Array(Type.String(), { description: 'Extra DNS names on this network.' })),
            ipv4_address: Type.Optional(Type.String({ description: 'Fixed IPv4 address.' })),
            ipv6_address: Type.Optional(Type.String({ description: 'Fixed IPv6 address.' })),
            priority: Type.Optional(Type.Integer({ description: 'Order in which networks are connected.' })),
          },
          { title: 'network attachment', description: 'How the container joins a network.' },
        ),
      ]),
      { description: 'Network names to attachment options.' },
    ),
  ],
  { description: 'Networks the container joins: a list of names, or names to options (aliases, addresses).' },
);

const dependsConditions = ['service_started', 'service_healthy', 'service_completed_successfully'];

export const DependsOn = Type.Union(
  [
    Type.Array(Type.String({ minLength: 1 }), { description: 'Services started before this one.' }),
    mapOf(
      strictObject(
        {
          condition: StringEnum(dependsConditions, { description: 'What "ready" means for the dependency.' }),
          restart: Type.Optional(Type.Boolean({ description: 'Restart this service when the dependency is updated.' })),
          required: Type.Optional(Type.Boolean({ description: 'Fail when the dependency is missing (default: true).' })),
        },
        { title: 'dependency', description: 'How to wait for a dependency.', required: ['condition'] },
      ),
      { description: 'Services to the condition they must reach first.' },
    ),
  ],
  { description: 'Services of the play that must be ready first: a list, or names to {condition}.' },
);

export const Ulimits = mapOf(
  Type.Union([
    Type.Integer({ description: 'Soft and hard limit.' }),
    strictObject({ soft: Type.Integer({ description: 'Soft limit.' }), hard: Type.Integer({ description: 'Hard limit.' }) }, { title: 'ulimit', description: 'Soft and hard limits.', required: ['soft', 'hard'] }),
  ]),
  { description: 'Resource limits by name (nofile, nproc, ...): one number or {soft, hard}.' },
);

export const restartExpected = 'one of no, always, on-failure, on-failure:N, unless-stopped';

// Services and sidecars both use these: declared once for the validator (see `shared`).
const ref = {
  port: shared('berth-port', PortSpec),
  volume: shared('berth-volume', VolumeSpec),
  build: shared('berth-build', Build),
  healthcheck: shared('berth-healthcheck', Healthcheck),
  logging: shared('berth-logging', Logging),
  networks: shared('berth-networks', Networks),
  dependsOn: shared('berth-depends-on', DependsOn),
  ulimits: shared('berth-ulimits', Ulimits),
  deploy: shared('berth-deploy', Deploy),
};

export const DeployRef = ref.deploy;

/** Keys shared by services and sidecars, with Compose's names and forms. */
export const composeProperties = {
  image: Type.Optional(Type.String({ minLength: 1, description: 'Image to run (built locally or already on the host).' })),
  build: Type.Optional(ref.build({ description: Build.description })),
  command: Type.Optional(StringOrList('Overrides the image\'s CMD: a shell-style line or an argv list.')),
  entrypoint: Type.Optional(StringOrList('Overrides the image\'s ENTRYPOINT.')),
  environment: Type.Optional(KeyValues('Environment variables: a map, or a list of KEY=VALUE.')),
  env_file: Type.Optional(StringOrList('Files of KEY=VALUE lines, relative to the playbook.')),
  ports: Type.Optional(Type.Array(ref.port({ description: PortSpec.description }), { description: 'Ports published on the host.' })),
  expose: Type.Optional(Type.Array(Type.Union([Port('Port.'), patterned(`${range}(?:/(?:tcp|udp|sctp))?`, 'a port like "80" or "53/udp"')]), { description: 'Ports reachable from other containers only.' })),
  volumes: Type.Optional(Type.Array(ref.volume({ description: VolumeSpec.description }), { description: 'Mounts: named volumes (kept across releases), host paths, tmpfs.' })),
  volumes_from: Type.Optional(Type.Array(patterned('(?:container:)?[^:\\s]+(?::(?:ro|rw))?', 'a service name, optionally with :ro or :rw'), { description: 'Mount all volumes of another service or sidecar ("name[:ro|rw]").' })),
  tmpfs: Type.Optional(StringOrList('Paths mounted as tmpfs ("/run" or "/run:size=64m").')),
  networks: Type.Optional(ref.networks({ description: Networks.description })),
  network_mode: Type.Optional(patterned('bridge|host|none|service:[^\\s]+|container:[^\\s]+', 'bridge, host, none, service:NAME or container:NAME', { description: 'Network namespace: bridge, host, none, or "service:NAME" to share another\'s.' })),
  pid: Type.Optional(patterned('host|service:[^\\s]+|container:[^\\s]+', 'host, service:NAME or container:NAME', { description: 'PID namespace to join.' })),
  ipc: Type.Optional(patterned('host|private|shareable|none|service:[^\\s]+|container:[^\\s]+', 'host, private, shareable, none, service:NAME or container:NAME', { description: 'IPC namespace mode.' })),
  depends_on: Type.Optional(ref.dependsOn({ description: DependsOn.description })),
  healthcheck: Type.Optional(ref.healthcheck({ description: Healthcheck.description })),
  user: Type.Optional(Type.String({ minLength: 1, description: 'User (and group) to run as: "1000", "1000:1000", "app".' })),
  working_dir: Type.Optional(Type.String({ pattern: '^/|\\{\\{', expected: 'an absolute path', description: 'Working directory inside the container.' })),
  read_only: Type.Optional(Type.Boolean({ description: 'Mount the root filesystem read-only.' })),
  cap_add: Type.Optional(Type.Array(Type.String({ minLength: 1 }), { description: 'Linux capabilities to add (e.g. NET_BIND_SERVICE).' })),
  cap_drop: Type.Optional(Type.Array(Type.String({ minLength: 1 }), { description: 'Linux capabilities to drop (e.g. ALL).' })),
  security_opt: Type.Optional(Type.Array(Type.String({ minLength: 1 }), { description: 'Security options (e.g. no-new-privileges:true).' })),
  mem_limit: Type.Optional(MemorySize('Memory limit.')),
  memswap_limit: Type.Optional(Type.Union([MemorySize('Memory plus swap limit.'), Type.Literal(-1)], { description: 'Memory plus swap limit (-1: unlimited).' })),
  cpus: Type.Optional(Type.Union([Type.Number({ minimum: 0 }), Type.String({ pattern: '^\\d+(?:\\.\\d+)?$', expected: 'a number like "0.5"' })], { description: 'CPUs the container may use (fractions allowed).' })),
  cpu_shares: Type.Optional(Type.Integer({ minimum: 2, description: 'Relative CPU weight (default 1024).' })),
  pids_limit: Type.Optional(Type.Integer({ minimum: -1, description: 'Most processes in the container (-1: unlimited).' })),
  ulimits: Type.Optional(ref.ulimits({ description: Ulimits.description })),
  labels: Type.Optional(KeyValues('Container labels.')),
  logging: Type.Optional(ref.logging({ description: Logging.description })),
  restart: Type.Optional(patterned('no|always|on-failure(?::\\d+)?|unless-stopped', restartExpected, { description: 'Docker\'s restart policy.' })),
  stop_signal: Type.Optional(Type.String({ pattern: '^(?:SIG)?[A-Z0-9]+$', expected: 'a signal name like SIGTERM or SIGQUIT', description: 'Signal that stops the container.' })),
  stop_grace_period: Type.Optional(Duration('Time between the stop signal and SIGKILL.')),
  hostname: Type.Optional(Type.String({ minLength: 1, description: 'Host name inside the container.' })),
  domainname: Type.Optional(Type.String({ description: 'Domain name inside the container.' })),
  extra_hosts: Type.Optional(
    Type.Union([Type.Array(Type.String({ pattern: '^[^\\s:=]+[:=]\\S+$|\\{\\{', expected: '"name:address" or "name=address"' })), mapOf(Type.String(), { description: 'Names to addresses.' })], {
      description: 'Extra /etc/hosts lines: "name:address" list or name -> address map.',
    }),
  ),
  dns: Type.Optional(StringOrList('DNS servers.')),
  dns_search: Type.Optional(StringOrList('DNS search domains.')),
  init: Type.Optional(Type.Boolean({ description: 'Run an init process as PID 1 that reaps zombies.' })),
  privileged: Type.Optional(Type.Boolean({ description: 'Give the container all capabilities and devices.' })),
  devices: Type.Optional(Type.Array(Type.String({ minLength: 1 }), { description: 'Host devices ("/dev/ttyUSB0:/dev/ttyUSB0:rwm").' })),
  sysctls: Type.Optional(KeyValues('Kernel parameters in the container\'s namespaces.')),
  shm_size: Type.Optional(MemorySize('Size of /dev/shm.')),
  stdin_open: Type.Optional(Type.Boolean({ description: 'Keep stdin open.' })),
  tty: Type.Optional(Type.Boolean({ description: 'Allocate a terminal.' })),
  platform: Type.Optional(Type.String({ description: 'Platform of the image (linux/amd64, linux/arm64).' })),
  pull_policy: Type.Optional(
    StringEnum(['always', 'missing', 'if_not_present', 'never', 'build'], {
      description:
        'When the image comes from a registry: missing (default; if_not_present is the same) pulls only what a host lacks, always asks the registry every apply and pulls a newer digest, never uses only what the host has; build builds from build: and never uses an image of that name berth did not build. Each run pulls one digest per tag on every host. Credentials: the playbook\'s registries:.',
    }),
  ),
  container_name: Type.Optional(Type.String({ description: 'Fixed container name (only with one replica; berth names containers itself otherwise).' })),
};
