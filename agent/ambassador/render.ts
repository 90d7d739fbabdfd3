// haproxy.cfg from an ambassador's listeners and the instances the registry lists for each. Pure
// and deterministic (instances sorted, no timestamps): the same registry view always renders the
// same text, so the watcher reloads haproxy only when routing really changes.
//
// Instances come from other hosts (etcd, the fleet view): a value that could end a line or start
// a comment would let one host write directives into this host's haproxy. So an instance is
// routed to only when it passes the registry schema (lang/registry-check.ts), every value is
// written as one word of a known alphabet, and a config that would hold anything else is not
// rendered at all.
import { isIP } from 'node:net';
import { instanceProblem } from '../../lang/registry-check.js';
import type { Instance } from '../registry/types.js';
import type { AmbassadorSpec, Listener } from './spec.js';

export type Rendered = { ok: true; text: string; dropped: Array<{ instance: string; problem: string }> } | { ok: false; message: string };

const safe = (s: string) => s.replace(/[^A-Za-z0-9_.:-]/g, '_');

/** A value haproxy reads as one word with no special meaning (no space, quote, backslash, '#', control character). */
const WORD = /^[A-Za-z0-9_.:[\]*-]+$/;

/** Instances a listener routes to: healthy ones carrying its tags. */
export function routable(l: Listener, instances: Instance[]): Instance[] {
  return instances.filter((i) => i.service === l.service && i.health === 'passing' && l.tags.every((t) => i.tags.includes(t)));
}

/** `address:port` for a server line: an IPv6 address in brackets. */
const endpoint = (address: string, port: number) => `${isIP(address) === 6 ? `[${address}]` : address}:${port}`;

export function renderHaproxy(spec: AmbassadorSpec, byService: Map<string, Instance[]>): Rendered {
  const c = spec.check;
  const dropped: Array<{ instance: string; problem: string }> = [];
  const retries = spec.retries ?? 2;
  const words: unknown[] = [spec.name, c.intervalMs, c.fall, c.rise, retries];
  const out = [
    `# Written by berth (ambassador ${spec.name}) from the service registry; changes are overwritten.`,
    'global',
    '  maxconn 4096',
    // Old workers finish their connections after a reload, but not forever.
    '  hard-stop-after 5m',
    'defaults',
    '  mode tcp',
    '  timeout connect 2s',
    '  timeout client 30m',
    '  timeout server 30m',
    // A connection refused by a server that just died goes to another one.
    `  retries ${retries}`,
    retries > 0 ? '  option redispatch' : '',
    c.enabled ? `  default-server inter ${c.intervalMs} fall ${c.fall} rise ${c.rise}` : '',
  ].filter(Boolean);
  for (const l of [...spec.listeners].sort((a, b) => a.port - b.port)) {
    words.push(l.port, l.mode, l.balance, l.bind);
    const servers = routable(l, byService.get(l.service) ?? []).filter((i) => {
      const problem = instanceProblem(i);
      if (problem) dropped.push({ instance: `${JSON.stringify(i.host)?.slice(0, 40)}/${JSON.stringify(i.id)?.slice(0, 40)}`, problem });
      return !problem;
    });
    out.push('', `listen ${safe(l.service)}_${l.port}`, `  bind ${endpoint(l.bind, l.port)}`, `  mode ${l.mode}`, `  balance ${l.balance}`);
    if (l.mode === 'http') out.push('  option forwardfor', '  timeout http-request 10s');
    if (servers.length === 0) out.push(`  # no healthy instance of ${safe(l.service)} registered`);
    for (const i of servers) {
      words.push(i.address, i.port);
      out.push(`  server ${safe(`${i.host}/${i.id}`)} ${endpoint(i.address, i.port)}${c.enabled ? ' check' : ''}`);
    }
  }
  // The schema and the module's checks keep these words plain; this is the last guard, for a
  // spec or an entry that reached here some other way.
  const bad = words.find((w) => !(typeof w === 'number' ? Number.isInteger(w) && w >= 0 : typeof w === 'string' && WORD.test(w)));
  if (bad !== undefined) return { ok: false, message: `not rendered: ${JSON.stringify(bad)?.slice(0, 80)} is not a plain word (no spaces, quotes or control characters)` };
  return { ok: true, text: out.join('\n') + '\n', dropped };
}
