// /etc/docker/daemon.json as a playbook writes it. Every key dockerd 20.10 documents is declared
// with its type, so a typo ("log-drivr") is caught by the validator before anything connects
// instead of by a dockerd that then refuses to start. Options newer than this list go under
// `extra`, merged as they are. Also here: which keys dockerd can take with a reload (SIGHUP)
// rather than a restart, and how two configurations are compared.
import { isDeepStrictEqual } from 'node:util';
import { Type, type Static, type TOptional, type TSchema } from '@sinclair/typebox';

const Str = (description: string) => Type.String({ description });
const Bool = (description: string) => Type.Boolean({ description });
const Int = (description: string) => Type.Integer({ description });
const Strs = (description: string) => Type.Array(Type.String(), { description });
const StrMap = (description: string) => Type.Record(Type.String(), Type.String(), { description });

const known = {
  'allow-nondistributable-artifacts': Strs('Registries to which foreign layers may be pushed.'),
  'api-cors-header': Str('CORS header of the remote API.'),
  'authorization-plugins': Strs('Authorization plugins to load.'),
  bip: Str('Address and prefix of the default bridge (docker0), e.g. "172.26.0.1/16".'),
  bridge: Str('Attach containers to this existing bridge instead of docker0 ("none" disables it).'),
  'cgroup-parent': Str('Parent cgroup of all containers.'),
  containerd: Str('Socket of an external containerd.'),
  'containerd-namespace': Str('containerd namespace for containers.'),
  'containerd-plugin-namespace': Str('containerd namespace for plugins.'),
  'data-root': Str('Where images, containers and volumes live (default /var/lib/docker).'),
  debug: Bool('Debug logging (reloadable).'),
  'default-address-pools': Type.Array(
    Type.Object(
      {
        base: Type.String({ description: 'Pool to carve networks from, e.g. "10.10.0.0/16".' }),
        size: Type.Integer({ minimum: 1, maximum: 32, description: 'Prefix length of each network taken from the pool.' }),
      },
      { additionalProperties: false, description: 'An address pool for new networks.' },
    ),
    { description: 'Address pools user-defined networks are allocated from.' },
  ),
  'default-cgroupns-mode': Type.Union([Type.Literal('private'), Type.Literal('host')], { description: 'cgroup namespace of containers: private or host.' }),
  'default-gateway': Str('Default IPv4 gateway of containers.'),
  'default-gateway-v6': Str('Default IPv6 gateway of containers.'),
  'default-ipc-mode': Str('Default IPC mode of containers (private or shareable).'),
  'default-runtime': Str('OCI runtime of containers (reloadable).'),
  'default-shm-size': Str('Default size of /dev/shm, e.g. "64M".'),
  'default-ulimits': Type.Record(
    Type.String(),
    Type.Object({ Name: Type.String({ description: 'Limit name.' }), Hard: Type.Integer({ description: 'Hard limit.' }), Soft: Type.Integer({ description: 'Soft limit.' }) }, { additionalProperties: false, description: 'One ulimit.' }),
    { description: 'Default ulimits of containers, by name (e.g. nofile).' },
  ),
  dns: Strs('DNS servers of containers.'),
  'dns-opts': Strs('DNS options of containers.'),
  'dns-search': Strs('DNS search domains of containers.'),
  'exec-opts': Strs('Runtime options, e.g. ["native.cgroupdriver=systemd"].'),
  'exec-root': Str('Root of the execution state (default /var/run/docker).'),
  experimental: Bool('Experimental features.'),
  features: Type.Record(Type.String(), Type.Boolean(), { description: 'Feature switches, e.g. {"buildkit": false} (reloadable).' }),
  'fixed-cidr': Str('IPv4 subnet for container addresses on the default bridge.'),
  'fixed-cidr-v6': Str('IPv6 subnet for container addresses on the default bridge.'),
  group: Str('Group owning the API socket (default docker).'),
  hosts: Strs('Sockets dockerd listens on; must include unix:///var/run/docker.sock (berth talks to it), and is refused on systemd hosts (the unit passes -H).'),
  icc: Bool('Inter-container communication on the default bridge.'),
  init: Bool('Run an init inside every container.'),
  'init-path': Str('Path of the docker-init binary.'),
  'insecure-registries': Strs('Registries reached over plain HTTP or with unverified TLS, e.g. "10.0.0.1:5000" (reloadable).'),
  ip: Str('Default address published ports bind to.'),
  'ip-forward': Bool('Enable net.ipv4.ip_forward.'),
  'ip-masq': Bool('IP masquerading for the default bridge.'),
  iptables: Bool('Let dockerd manage iptables rules.'),
  ip6tables: Bool('Let dockerd manage ip6tables rules (experimental).'),
  ipv6: Bool('IPv6 on the default bridge.'),
  labels: Strs('Engine labels, "key=value" (reloadable).'),
  'live-restore': Bool('Keep containers running while dockerd restarts (reloadable).'),
  'log-driver': Str('Default logging driver of containers, e.g. json-file, local, journald.'),
  'log-level': Type.Union([Type.Literal('debug'), Type.Literal('info'), Type.Literal('warn'), Type.Literal('error'), Type.Literal('fatal')], { description: 'dockerd\'s own log level.' }),
  'log-opts': StrMap('Options of the default logging driver, e.g. {"max-size": "10m", "max-file": "3"}; values are strings.'),
  'max-concurrent-downloads': Int('Parallel layer downloads per pull (reloadable).'),
  'max-concurrent-uploads': Int('Parallel layer uploads per push (reloadable).'),
  'max-download-attempts': Int('Attempts per layer download (reloadable).'),
  mtu: Int('MTU of the default bridge.'),
  'no-new-privileges': Bool('no-new-privileges for every container by default.'),
  'node-generic-resources': Strs('Generic resources advertised by the node.'),
  'oom-score-adjust': Int('OOM score of dockerd itself.'),
  pidfile: Str('dockerd\'s pid file; refused where berth supervises dockerd (it passes its own).'),
  'raw-logs': Bool('Logs without colour or timestamps formatting.'),
  'registry-mirrors': Strs('Pull-through mirrors of Docker Hub, e.g. "https://mirror.example" (reloadable).'),
  runtimes: Type.Record(
    Type.String(),
    Type.Object(
      { path: Type.String({ description: 'Runtime binary.' }), runtimeArgs: Type.Optional(Type.Array(Type.String(), { description: 'Arguments passed to it.' })) },
      { additionalProperties: false, description: 'An OCI runtime.' },
    ),
    { description: 'Extra OCI runtimes by name (reloadable).' },
  ),
  'seccomp-profile': Str('Default seccomp profile (path, or "unconfined").'),
  'selinux-enabled': Bool('SELinux support.'),
  'shutdown-timeout': Int('Seconds dockerd waits for containers to stop on shutdown (reloadable).'),
  'storage-driver': Str('Storage driver, e.g. overlay2.'),
  'storage-opts': Strs('Storage driver options.'),
  'swarm-default-advertise-addr': Str('Default advertise address of swarm mode.'),
  tls: Bool('TLS on the TCP API.'),
  tlscacert: Str('CA of clients allowed on the TCP API.'),
  tlscert: Str('Server certificate of the TCP API.'),
  tlskey: Str('Server key of the TCP API.'),
  tlsverify: Bool('Require client certificates on the TCP API.'),
  'userland-proxy': Bool('Userland proxy for published ports on loopback.'),
  'userland-proxy-path': Str('Path of docker-proxy.'),
  'userns-remap': Str('User namespace remapping ("default" or user[:group]).'),
} satisfies Record<string, TSchema>;

type Known = { [K in keyof typeof known]: TOptional<(typeof known)[K]> };
const optional = Object.fromEntries(Object.entries(known).map(([k, v]) => [k, Type.Optional(v)])) as Known;

export const daemonSchema = Type.Object(
  {
    ...optional,
    extra: Type.Optional(
      Type.Record(Type.String(), Type.Unknown(), {
        description: 'Options this list does not know (newer dockerd versions), merged into daemon.json as they are. dockerd refuses keys it does not know; berth then puts the previous file back.',
      }),
    ),
  },
  {
    additionalProperties: false,
    description: 'Settings written to /etc/docker/daemon.json (the keys of dockerd\'s configuration file). The engine restarts only when the file changed, and reloads instead (SIGHUP) when every changed key is reloadable.',
  },
);
export type DaemonParams = Static<typeof daemonSchema>;

/**
 * Keys dockerd 20.10 applies on SIGHUP, as its documentation lists them ("Configuration reload
 * behavior"); anything else needs a restart.
 */
export const RELOADABLE = new Set([
  'debug',
  'labels',
  'live-restore',
  'max-concurrent-downloads',
  'max-concurrent-uploads',
  'max-download-attempts',
  'default-runtime',
  'runtimes',
  'authorization-plugins',
  'insecure-registries',
  'registry-mirrors',
  'shutdown-timeout',
  'features',
]);

/** The object written to daemon.json: the known keys, then `extra`, with keys sorted for a stable file. */
export function daemonJson(p: DaemonParams): Record<string, unknown> {
  const { extra, ...rest } = p;
  const merged: Record<string, unknown> = { ...rest, ...(extra ?? {}) };
  return Object.fromEntries(Object.keys(merged).sort().map((k) => [k, merged[k]]));
}

export const renderDaemonJson = (config: Record<string, unknown>): string => JSON.stringify(config, null, 2) + '\n';

/** Top-level keys whose values differ (added, removed or changed). */
export function changedKeys(before: Record<string, unknown> | undefined, after: Record<string, unknown>): string[] {
  const b = before ?? {};
  const keys = new Set([...Object.keys(b), ...Object.keys(after)]);
  return [...keys].filter((k) => !isDeepStrictEqual(b[k], after[k])).sort();
}

/** How the engine takes a change of these keys. */
export const applyBy = (keys: string[]): 'reload' | 'restart' => (keys.length > 0 && keys.every((k) => RELOADABLE.has(k)) ? 'reload' : 'restart');

/** The current file: its parsed content (undefined when absent) or why it cannot be read. */
export function parseDaemonJson(text: string | null): { ok: true; value: Record<string, unknown> | undefined } | { ok: false; message: string } {
  if (text === null) return { ok: true, value: undefined };
  if (text.trim() === '') return { ok: true, value: {} };
  try {
    const v = JSON.parse(text) as unknown;
    if (v === null || typeof v !== 'object' || Array.isArray(v)) return { ok: false, message: 'is not a JSON object' };
    return { ok: true, value: v as Record<string, unknown> };
  } catch (e) {
    return { ok: false, message: `is not valid JSON (${(e as Error).message})` };
  }
}
