// haproxy.cfg from an ambassador's listeners and the instances the registry lists for each. Pure
// and deterministic (instances sorted, no timestamps): the same registry view always renders the
// same text, so the watcher reloads haproxy only when routing really changes.
import type { Instance } from '../registry/types.js';
import type { AmbassadorSpec, Listener } from './spec.js';

const safe = (s: string) => s.replace(/[^A-Za-z0-9_.:-]/g, '_');

/** Instances a listener routes to: healthy ones carrying its tags. */
export function routable(l: Listener, instances: Instance[]): Instance[] {
  return instances.filter((i) => i.service === l.service && i.health === 'passing' && l.tags.every((t) => i.tags.includes(t)));
}

export function renderHaproxy(spec: AmbassadorSpec, byService: Map<string, Instance[]>): string {
  const c = spec.check;
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
    '  retries 2',
    '  option redispatch',
    c.enabled ? `  default-server inter ${c.intervalMs} fall ${c.fall} rise ${c.rise}` : '',
  ].filter(Boolean);
  for (const l of [...spec.listeners].sort((a, b) => a.port - b.port)) {
    const servers = routable(l, byService.get(l.service) ?? []);
    out.push('', `listen ${safe(l.service)}_${l.port}`, `  bind ${l.bind.includes(':') ? `[${l.bind}]` : l.bind}:${l.port}`, `  mode ${l.mode}`, `  balance ${l.balance}`);
    if (l.mode === 'http') out.push('  option forwardfor', '  timeout http-request 10s');
    if (servers.length === 0) out.push(`  # no healthy instance of ${l.service} registered`);
    for (const i of servers) {
      const addr = i.address.includes(':') ? `[${i.address}]` : i.address;
      out.push(`  server ${safe(`${i.host}/${i.id}`)} ${addr}:${i.port}${c.enabled ? ' check' : ''}`);
    }
  }
  return out.join('\n') + '\n';
}
