// The address:port an instance is registered under: what other hosts (and this one) connect to.
// A published port is reached at the host's address; an unpublished one only at the container's
// own address, which is reachable from its host (and across hosts only on a routed or overlay
// network): registering it still makes sense for ambassadors on the same host.
import type Docker from 'dockerode';
import { containerIp, publishedPort } from '../health/target.js';

export type Advertised = { ok: true; address: string; port: number } | { ok: false; message: string };

const unspecified = (ip: string) => ip === '' || ip === '0.0.0.0' || ip === '::';

export async function advertisedAddress(docker: Docker, info: Docker.ContainerInspectInfo, port: number, hostAddress: string, depth = 0): Promise<Advertised> {
  const mode = info.HostConfig?.NetworkMode ?? '';
  if (mode === 'host') return { ok: true, address: hostAddress, port };
  if (mode.startsWith('container:') && depth === 0) {
    const other = await docker.getContainer(mode.slice('container:'.length)).inspect().catch(() => undefined);
    if (!other) return { ok: false, message: `the container whose network it shares (${mode}) is gone` };
    return advertisedAddress(docker, other, port, hostAddress, 1);
  }
  const pub = publishedPort(info, port);
  if (pub && !pub.hostIp.startsWith('127.')) return { ok: true, address: unspecified(pub.hostIp) ? hostAddress : pub.hostIp, port: pub.hostPort };
  const ip = containerIp(info);
  if (ip) return { ok: true, address: ip, port };
  if (pub) return { ok: true, address: pub.hostIp, port: pub.hostPort };
  return { ok: false, message: `port ${port} has no address: the container neither publishes it nor has an address of its own` };
}

/** The port to advertise when `register.port` does not say: the first published, else the first exposed. */
export function defaultPort(info: Docker.ContainerInspectInfo, fallback?: number): number | undefined {
  const ports = Object.entries((info.NetworkSettings?.Ports ?? {}) as Record<string, Array<{ HostPort: string }> | null>)
    .filter(([k, v]) => k.endsWith('/tcp') && v?.some((b) => b.HostPort))
    .map(([k]) => Number(k.split('/')[0]))
    .sort((a, b) => a - b);
  if (ports.length) return ports[0];
  if (fallback !== undefined) return fallback;
  const exposed = Object.keys(info.Config?.ExposedPorts ?? {}).filter((k) => k.endsWith('/tcp')).map((k) => Number(k.split('/')[0])).sort((a, b) => a - b);
  return exposed[0];
}
