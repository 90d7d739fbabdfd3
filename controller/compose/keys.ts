// Which keys of the Compose specification berth takes, and for each one it does not, what to
// write instead. The loader refuses a key it cannot carry out (nothing is silently dropped);
// docs/services.md has the same table for people.
import { composeProperties } from '../../schema/compose.js';
import { Service } from '../../schema/service.js';

/** Top-level keys berth reads; `version` is obsolete in Compose too and is ignored. */
export const TOP_LEVEL = new Set(['version', 'name', 'services', 'networks', 'volumes', 'configs', 'secrets']);

export const TOP_LEVEL_UNSUPPORTED: Record<string, string> = {
  include: 'give each Compose file a play of its own (compose: other.yml), or copy its services into this file',
  models: 'remove it: berth runs no AI models; run the model server as a service with an image',
};

/** Service keys berth takes: the Compose keys of berth's service schema, and the ones the loader translates. */
export const SERVICE_KEYS = new Set([...Object.keys(composeProperties), 'deploy', 'links', 'profiles', 'env_file', 'configs', 'secrets']);

/** berth's own service keys (health, register, sidecars, ...): a play's services have them, a Compose file does not. */
export const BERTH_ONLY = new Set(Object.keys(Service.properties).filter((k) => !SERVICE_KEYS.has(k)));

export const SERVICE_UNSUPPORTED: Record<string, string> = {
  annotations: 'write them as labels: (berth puts labels on the container)',
  attach: 'remove it: berth never attaches to a service; read its output with berth logs SERVICE',
  blkio_config: 'remove it: berth sets no block-IO weights or limits',
  cgroup: 'remove it: berth leaves the cgroup namespace to Docker (private)',
  cgroup_parent: 'remove it: berth leaves the parent cgroup to Docker',
  cpu_count: 'write cpus: N (fractions allowed, e.g. cpus: 1.5)',
  cpu_percent: 'write cpus: N (e.g. cpus: 0.5 for half a CPU)',
  cpu_period: 'write cpus: QUOTA/PERIOD as one number (e.g. cpus: 0.5)',
  cpu_quota: 'write cpus: QUOTA/PERIOD as one number (e.g. cpus: 0.5)',
  cpu_rt_period: 'remove it: berth sets no real-time CPU scheduling',
  cpu_rt_runtime: 'remove it: berth sets no real-time CPU scheduling',
  cpuset: 'remove it: berth pins no CPUs; limit the share with cpus: N',
  credential_spec: 'remove it: it is for Windows containers, which berth does not run',
  develop: 'remove it: watch mode is docker compose\'s; run berth apply again after a change',
  device_cgroup_rules: 'list the devices under devices: instead ("/dev/ttyUSB0:/dev/ttyUSB0:rwm")',
  dns_opt: 'remove it, or set the options in the image\'s /etc/resolv.conf; berth sets dns and dns_search',
  driver_opts: 'set driver options on the network (networks: NAME: driver_opts:)',
  extends: 'merge the services with YAML anchors: x-base: &base {...} once, then <<: *base in each service',
  external_links: 'put both containers on one network (networks:) and reach the other by its name',
  gpus: 'pass the GPU devices under devices: (e.g. "/dev/nvidia0:/dev/nvidia0")',
  group_add: 'write user: "UID:GID", or add the user to the group in the image',
  isolation: 'remove it: it is for Windows containers, which berth does not run',
  label_file: 'write the labels under labels:',
  mac_address: 'remove it: Docker gives the container its MAC address',
  mem_reservation: 'write deploy: { resources: { reservations: { memory: 64m } } }',
  mem_swappiness: 'remove it: berth leaves swappiness to the kernel',
  models: 'remove it: berth runs no AI models',
  oom_kill_disable: 'remove it: berth leaves the OOM killer on; set mem_limit instead',
  oom_score_adj: 'remove it: berth leaves the OOM score to Docker',
  post_start: 'run the command in the image\'s entrypoint, or in a task after the play',
  pre_stop: 'use stop_signal and stop_grace_period (the container gets the signal, then time to stop)',
  provider: 'remove it: berth runs containers only',
  pull_refresh_after: 'remove it: berth pulls at apply time only, as pull_policy says',
  runtime: 'remove it: berth runs Docker\'s default runtime',
  scale: 'write deploy: { replicas: N }',
  storage_opt: 'remove it: berth leaves the storage driver\'s options to Docker',
  use_api_socket: 'bind the socket: volumes: ["/var/run/docker.sock:/var/run/docker.sock"]',
  userns_mode: 'remove it: berth runs containers in the engine\'s user namespace setting',
  uts: 'remove it: berth keeps each container\'s own UTS namespace; set hostname: instead',
};

/** Keys of a top-level network or volume that berth takes. */
export const RESOURCE_KEYS: Record<'networks' | 'volumes', Set<string>> = {
  networks: new Set(['name', 'driver', 'driver_opts', 'labels', 'external', 'internal', 'attachable']),
  volumes: new Set(['name', 'driver', 'driver_opts', 'labels', 'external']),
};

/**
 * Keys of a top-level config or secret berth does not take (it takes file, environment and, for
 * configs, content): berth ships the content to each host itself (controller/compose/project-files.ts).
 */
export const FILE_DECL_UNSUPPORTED: Record<string, string> = {
  'configs.external': 'berth ships the file itself, there is no platform to keep it: write file: ./PATH (relative to the Compose file), content: or environment:',
  'secrets.external': 'berth ships the file itself, there is no platform to keep it: write file: ./PATH (relative to the Compose file) or environment: VAR',
  'configs.name': 'remove it: on each host the config is the file configs/SERVICE/KEY in the project\'s folder, named by its key',
  'secrets.name': 'remove it: on each host the secret is the file secrets/SERVICE/KEY in the project\'s folder, named by its key',
  'configs.labels': 'remove it: a config is a file on each host, with nothing to label',
  'secrets.labels': 'remove it: a secret is a file on each host, with nothing to label',
  'configs.template_driver': 'remove it: berth ships the content as it is',
  'secrets.template_driver': 'remove it: berth ships the content as it is',
  'secrets.driver': 'remove it: berth keeps the secret in a file on each host (0400)',
  'secrets.driver_opts': 'remove it: berth keeps the secret in a file on each host (0400)',
};

export const RESOURCE_UNSUPPORTED: Record<string, string> = {
  'networks.ipam': 'remove it: berth creates networks without fixed subnets; for fixed addresses (ipv4_address) create the network with its subnet outside berth and declare it here with external: true',
  'networks.enable_ipv6': 'remove it: berth creates IPv4 networks; for IPv6 create the network outside berth and declare it with external: true',
  'networks.enable_ipv4': 'remove it: berth networks always have IPv4',
  'volumes.attachable': 'remove it: attachable is for networks',
};

/**
 * Keys Compose has inside a service's keys that berth's schema leaves out, by their path below
 * the service (`[]` is any list item, `*` any name): what to write instead.
 */
export const NESTED_UNSUPPORTED: Record<string, string> = {
  'build.dockerfile_inline': 'write the Dockerfile into the build context and name it with dockerfile:',
  'build.ssh': 'remove it: berth builds without SSH agent forwarding; copy what the build needs into the context',
  'build.cache_from': 'remove it: berth builds on the host with its own layer cache',
  'build.cache_to': 'remove it: berth builds on the host with its own layer cache',
  'build.additional_contexts': 'copy the files into the one build context',
  'build.entitlements': 'remove it: berth builds without extra entitlements',
  'build.extra_hosts': 'remove it, or write the addresses into the Dockerfile',
  'build.isolation': 'remove it: it is for Windows builds',
  'build.privileged': 'remove it: berth builds unprivileged',
  'build.no_cache': 'remove it: a changed context or Dockerfile is rebuilt anyway',
  'build.pull': 'remove it: berth builds FROM the images the host has',
  'build.network': 'remove it: berth builds on the default build network',
  'build.shm_size': 'remove it: berth builds with Docker\'s default /dev/shm',
  'build.secrets': 'remove it: pass build-time values with args:',
  'build.tags': 'name the image with the service\'s image: key',
  'build.ulimits': 'remove it: berth builds with Docker\'s default limits',
  'build.platforms': 'remove it: berth builds for the host it builds on',
  'build.provenance': 'remove it: berth makes no attestations',
  'build.sbom': 'remove it: berth makes no attestations',
  'deploy.update_config': "remove it: berth replaces containers by the service's update: (order, min_healthy_time, drain_time) in the play's services:, and rolls hosts in batches by the play's rollout:",
  'deploy.rollback_config': "remove it: berth rolls back by the play's rollout: (auto_revert) and berth rollback",
  'deploy.restart_policy.window': 'remove it: Docker restarts a container without a window (that is a Swarm setting)',
  'deploy.mode': 'remove it: berth runs deploy.replicas containers on each host of the play',
  'deploy.placement': 'choose the hosts with the play\'s hosts: pattern',
  'deploy.endpoint_mode': 'remove it: other services reach this one by its name on a shared network',
  'deploy.resources.reservations.devices': 'pass the devices under devices:',
  'deploy.resources.reservations.generic_resources': 'remove it: berth reserves memory and CPUs only',
  'networks.*.link_local_ips': 'remove it: Docker gives the addresses',
  'networks.*.mac_address': 'remove it: Docker gives the MAC address',
  'networks.*.driver_opts': 'set driver options on the network itself (networks: NAME: driver_opts:)',
  'networks.*.gw_priority': 'remove it: berth connects the networks in the order they are listed',
  'networks.*.interface_name': 'remove it: Docker names the interfaces',
  'ports.[].app_protocol': 'remove it: berth publishes ports at the transport level',
  'volumes.[].consistency': 'remove it: it only matters for Docker Desktop',
  'volumes.[].volume.subpath': 'mount the whole volume, or bind a host path instead',
  'volumes.[].image': 'remove it: berth mounts volumes, bind mounts and tmpfs',
  'env_file.[].format': 'remove it: berth reads env files in the .env format',
};

/** The generic form of a path below a service: names become `*`, list positions `[]`. */
export function nestedPattern(path: ReadonlyArray<string | number>): string {
  const out: string[] = [];
  path.forEach((seg, i) => {
    if (typeof seg === 'number' || /^\d+$/.test(String(seg))) out.push('[]');
    // Under networks (mapping form) the next key is a network's name.
    else if (i > 0 && out[i - 1] === 'networks' && i === 1) out.push('*');
    else out.push(String(seg));
  });
  return out.join('.');
}
