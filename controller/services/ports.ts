// Published ports in every form Compose accepts: 80, "8080:80", "127.0.0.1:8080:80",
// "127.0.0.1::80" (random host port on one address), "[::1]:8080:80", "53:53/udp", ranges
// ("8000-8002:8000-8002", "9000-9010:80" = any free host port of the range) and the long form.
import type { PortBinding } from '../../modules/service-spec.js';
import type { PortSpec as ComposePort } from '../../schema/compose.js';
import type { Static } from '@sinclair/typebox';

type Port = Static<typeof ComposePort>;
type Protocol = PortBinding['protocol'];
export type PortResult = { ok: true; value: PortBinding[] } | { ok: false; message: string };

const range = (s: string): [number, number] | undefined => {
  const m = /^(\d+)(?:-(\d+))?$/.exec(s);
  if (!m) return undefined;
  const lo = Number(m[1]);
  const hi = m[2] === undefined ? lo : Number(m[2]);
  return lo >= 1 && hi <= 65535 && lo <= hi ? [lo, hi] : undefined;
};

export function parsePort(p: Port): PortResult {
  if (typeof p === 'number') return { ok: true, value: [{ target: p, protocol: 'tcp' }] };
  if (typeof p === 'object') {
    const published = p.published === undefined ? undefined : String(p.published);
    return { ok: true, value: [{ target: p.target, protocol: p.protocol ?? 'tcp', ...(published ? { published } : {}), ...(p.host_ip ? { hostIp: p.host_ip } : {}) }] };
  }
  return parseShort(p);
}

function parseShort(text: string): PortResult {
  const bad = (why: string): PortResult => ({ ok: false, message: `port "${text}": ${why}` });
  let rest = text.trim();
  let protocol: Protocol = 'tcp';
  const slash = rest.lastIndexOf('/');
  if (slash >= 0) {
    const proto = rest.slice(slash + 1);
    if (proto !== 'tcp' && proto !== 'udp' && proto !== 'sctp') return bad(`unknown protocol "${proto}" (tcp, udp or sctp)`);
    protocol = proto;
    rest = rest.slice(0, slash);
  }
  let hostIp: string | undefined;
  if (rest.startsWith('[')) {
    const end = rest.indexOf(']:');
    if (end < 0) return bad('an IPv6 address must be followed by ":PORT"');
    hostIp = rest.slice(1, end);
    rest = rest.slice(end + 2);
  }
  const parts = rest.split(':');
  if (parts.length === 3 && hostIp === undefined) hostIp = parts.shift();
  if (parts.length > 2) return bad('expected [HOST_IP:][HOST_PORT:]CONTAINER_PORT[/PROTOCOL]');
  const [hostText, containerText] = parts.length === 2 ? parts : [undefined, parts[0]];
  const container = range(containerText);
  if (!container) return bad(`"${containerText}" is not a port or a range of ports (1-65535)`);
  const host = hostText ? range(hostText) : undefined;
  if (hostText && !host) return bad(`"${hostText}" is not a port or a range of ports (1-65535)`);
  const base = { protocol, ...(hostIp ? { hostIp } : {}) };
  const cLen = container[1] - container[0];
  if (!host) return { ok: true, value: ports(container).map((target) => ({ target, ...base })) };
  const hLen = host[1] - host[0];
  if (cLen === 0) return { ok: true, value: [{ target: container[0], published: hostText!, ...base }] };
  if (hLen !== cLen) return bad(`the host range has ${hLen + 1} ports and the container range ${cLen + 1}`);
  return { ok: true, value: ports(container).map((target, i) => ({ target, published: String(host[0] + i), ...base })) };
}

const ports = ([lo, hi]: [number, number]) => Array.from({ length: hi - lo + 1 }, (_, i) => lo + i);
