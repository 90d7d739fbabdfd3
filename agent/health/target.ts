// Where a probe reaches a container's port from the host. Probes run on the host (never from
// the controller across the network), so the container's own address on its network works even
// for ports that are not published; a container without an address of its own (host network,
// another container's namespace) is reached the way it shares.
import type Docker from 'dockerode';

export type Address = { ok: true; host: string; port: number } | { ok: false; message: string };

type Info = Docker.ContainerInspectInfo;

/** The container's first address on a network it joined, if it has one. */
export function containerIp(info: Info): string | undefined {
  const nets = Object.values(info.NetworkSettings?.Networks ?? {});
  for (const n of nets) if (n?.IPAddress) return n.IPAddress;
  // The legacy top-level field, which API versions before 1.44 still fill for the default bridge.
  return (info.NetworkSettings as { IPAddress?: string } | undefined)?.IPAddress || undefined;
}

/** The host port a container port is published on, and the host address it is bound to. */
export function publishedPort(info: Info, port: number, proto = 'tcp'): { hostIp: string; hostPort: number } | undefined {
  const bindings = (info.NetworkSettings?.Ports as Record<string, Array<{ HostIp: string; HostPort: string }> | null> | undefined)?.[`${port}/${proto}`];
  const b = bindings?.find((x) => x.HostPort);
  return b ? { hostIp: b.HostIp, hostPort: Number(b.HostPort) } : undefined;
}

export async function probeAddress(docker: Docker, info: Info, port: number, depth = 0): Promise<Address> {
  const mode = info.HostConfig?.NetworkMode ?? '';
  if (mode === 'host') return { ok: true, host: '127.0.0.1', port };
  if (mode.startsWith('container:') && depth === 0) {
    const other = await docker.getContainer(mode.slice('container:'.length)).inspect().catch((e: Error) => e);
    if (other instanceof Error) return { ok: false, message: `the container whose network it shares is gone: ${other.message}` };
    return probeAddress(docker, other, port, depth + 1);
  }
  const ip = containerIp(info);
  if (ip) return { ok: true, host: ip, port };
  const pub = publishedPort(info, port);
  if (pub) return { ok: true, host: unspecified(pub.hostIp) ? '127.0.0.1' : pub.hostIp, port: pub.hostPort };
  return { ok: false, message: `port ${port} is not reachable from the host: the container has no address of its own and does not publish it` };
}

const unspecified = (ip: string) => ip === '' || ip === '0.0.0.0' || ip === '::';
