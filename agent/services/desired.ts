// What a service should look like on this host: for each replica, its own container and its
// sidecars, each with the spec it is created from, that spec's hash and the image it runs.
import type { ContainerRef, ContainerSpec, ServiceSpec } from '../../modules/service-spec.js';
import { configHash, keyHashes } from './hash.js';
import { containerName, type Role } from './names.js';

export type LinkKind = 'network' | 'pid' | 'ipc' | 'volumes';

/** A container this one is tied to at create time (Docker resolves these names to ids then). */
export interface Link {
  kind: LinkKind;
  ref: ContainerRef;
}

export interface Desired {
  role: Role;
  replica: number;
  name: string;
  spec: ContainerSpec;
  hash: string;
  keys: Record<string, string>;
  imageId: string;
  links: Link[];
}

/** `images` maps each image reference of the service to the id it resolved to on this host. */
export function desiredContainers(s: ServiceSpec, images: ReadonlyMap<string, string>): Desired[] {
  const out: Desired[] = [];
  const roles: Array<[Role, ContainerSpec]> = [['', s.main], ...s.sidecars.map((sc): [Role, ContainerSpec] => [sc.name, sc.spec])];
  for (let replica = 1; replica <= s.replicas; replica++) {
    for (const [role, base] of roles) {
      const spec = forReplica(base, replica, s.replicas);
      out.push({ role, replica, name: containerName(s, role, replica), spec, hash: configHash(spec), keys: keyHashes(spec), imageId: images.get(spec.image) ?? '', links: linksOf(spec) });
    }
  }
  return out;
}

/**
 * With several replicas on one host, a fixed host port can be bound once only: replica N
 * publishes the port plus N-1 (8080, 8081, ...). A range ("8080-8089") is left to Docker, which
 * gives each replica a free port of it.
 */
export function forReplica(spec: ContainerSpec, replica: number, replicas: number): ContainerSpec {
  if (replicas <= 1 || replica === 1 || !spec.ports.some((p) => p.published && /^\d+$/.test(p.published))) return spec;
  return { ...spec, ports: spec.ports.map((p) => (p.published && /^\d+$/.test(p.published) ? { ...p, published: String(Number(p.published) + replica - 1) } : p)) };
}

export function linksOf(spec: ContainerSpec): Link[] {
  const links: Link[] = [];
  if (spec.network.mode === 'ref') links.push({ kind: 'network', ref: spec.network.ref });
  if (spec.pid && 'ref' in spec.pid) links.push({ kind: 'pid', ref: spec.pid.ref as ContainerRef });
  if (spec.ipc && 'ref' in spec.ipc) links.push({ kind: 'ipc', ref: spec.ipc.ref as ContainerRef });
  for (const v of spec.volumesFrom) links.push({ kind: 'volumes', ref: v.ref });
  return links;
}

/** The label value recording which container ids a container's links resolved to. */
export const linksLabel = (resolved: Array<{ kind: LinkKind; id: string }>) =>
  resolved
    .map((l) => `${l.kind}=${l.id.slice(0, 12)}`)
    .sort()
    .join(',');
