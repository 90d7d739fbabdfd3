// What berth's containers of a service look like now, read from one container list call: the
// labels carry everything a decision needs, so a converged service costs no inspect at all.
import type Docker from 'dockerode';
import { L, labelFilter } from './labels.js';
import type { Role } from './names.js';

export interface Observed {
  id: string;
  name: string;
  playbook: string;
  service: string;
  role: Role;
  replica: number;
  hash: string;
  keys?: Record<string, string>;
  imageId: string;
  links: string;
  release: string;
  /** created, running, paused, restarting, exited, dead */
  state: string;
  exitCode?: number;
  health?: 'healthy' | 'unhealthy' | 'starting';
  oneoff: boolean;
  job: boolean;
  created: number;
  /** Docker's own words: "Up 3 minutes (healthy)", "Exited (0) 2 hours ago". */
  status: string;
  image: string;
  ports: Array<{ ip?: string; published?: number; target: number; protocol: string }>;
}

export function fromListing(c: Docker.ContainerInfo): Observed {
  const l = c.Labels ?? {};
  let keys: Record<string, string> | undefined;
  try {
    keys = l[L.configKeys] ? (JSON.parse(l[L.configKeys]) as Record<string, string>) : undefined;
  } catch {
    keys = undefined;
  }
  const exit = /^Exited \((-?\d+)\)/.exec(c.Status ?? '');
  const health = /\((healthy|unhealthy|health: starting)\)/.exec(c.Status ?? '')?.[1];
  return {
    id: c.Id,
    name: (c.Names?.[0] ?? '').replace(/^\//, ''),
    playbook: l[L.playbook] ?? '',
    service: l[L.service] ?? '',
    role: l[L.sidecar] ?? '',
    replica: Number(l[L.replica] ?? 0),
    hash: l[L.configHash] ?? '',
    keys,
    imageId: l[L.image] ?? '',
    links: l[L.links] ?? '',
    release: l[L.release] ?? '',
    state: c.State,
    ...(exit ? { exitCode: Number(exit[1]) } : {}),
    ...(health ? { health: health === 'health: starting' ? 'starting' : (health as 'healthy' | 'unhealthy') } : {}),
    oneoff: l[L.oneoff] !== undefined,
    job: l[L.job] !== undefined,
    created: c.Created,
    status: c.Status ?? '',
    image: l[L.imageRef] ?? c.Image,
    ports: (c.Ports ?? []).map((p) => ({ ...(p.IP ? { ip: p.IP } : {}), ...(p.PublicPort ? { published: p.PublicPort } : {}), target: p.PrivatePort, protocol: p.Type })),
  };
}

/**
 * Every container berth made for this playbook (every playbook's, without one), of one service
 * when given, jobs' runs included.
 */
export async function observe(docker: Docker, playbook: string | undefined, service?: string): Promise<Observed[]> {
  const labels: Record<string, string | true> = { [L.playbook]: playbook ?? true };
  if (service !== undefined) labels[L.service] = service;
  const list = await docker.listContainers({ all: true, filters: labelFilter(labels) });
  return list.map(fromListing);
}
