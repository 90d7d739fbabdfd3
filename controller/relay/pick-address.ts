// Which of a host's addresses another host should dial for its relay. The controller reaches
// hosts by whatever the inventory says (often a NAT port or a bastion), which says nothing about
// how hosts reach each other; the hosts' own interface lists do.
import type { RelayEndpoint } from '../../protocol/agent-protocol.js';

type Address = RelayEndpoint['addresses'][number];

/** Interfaces every container engine makes on its host: never how another host gets here. */
const LOCAL_BRIDGE = /^(docker\d*|br-[0-9a-f]+|veth.*|cni\d*|virbr\d*|podman\d*)$/;

function ipv4Int(a: string): number {
  return a.split('.').reduce((n, p) => (n << 8) + Number(p), 0) >>> 0;
}

function sameIpv4Subnet(a: Address, b: Address): boolean {
  if (a.family !== 'IPv4' || b.family !== 'IPv4') return false;
  const bits = Number(a.cidr.split('/')[1] ?? 32);
  if (bits === 0 || bits !== Number(b.cidr.split('/')[1] ?? 32)) return false;
  const mask = bits >= 32 ? 0xffffffff : (~((1 << (32 - bits)) - 1)) >>> 0;
  return ((ipv4Int(a.address) & mask) >>> 0) === ((ipv4Int(b.address) & mask) >>> 0);
}

/**
 * The address `to` should dial to reach `from`'s relay, or undefined when `from` has none that
 * could work. Addresses that several hosts share (a NAT interface every Vagrant VM has, an engine's
 * default bridge) are nobody's; of the rest, one on a subnet `to` is on comes first.
 */
export function pickAddress(from: Address[], to: Address[] | undefined, everyone: Address[][]): string | undefined {
  const seen = new Map<string, number>();
  for (const list of everyone) for (const a of new Set(list.map((x) => x.address))) seen.set(a, (seen.get(a) ?? 0) + 1);
  const own = from.filter((a) => (seen.get(a.address) ?? 0) <= 1 && !LOCAL_BRIDGE.test(a.iface));
  const near = own.find((a) => (to ?? []).some((b) => sameIpv4Subnet(a, b)));
  return (near ?? own.find((a) => a.family === 'IPv4') ?? own[0])?.address;
}
