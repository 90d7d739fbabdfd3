// Jump hosts in an inventory: a `jump:` written as a bare name must be a host of the inventory
// (or a Host of the operator's ssh_config), so that a typo is not taken for a DNS name; and jumps
// must not go round in a cycle (a -> b -> a), which no connection could ever follow. The default
// `ssh: { jump: x }` does not apply to x itself, which is reached directly.
import { sshConfigHasHost } from '../ssh/ssh-config.js';
import type { DocPath } from './path.js';
import type { Finding } from './problems.js';
import { asRecord, entries } from './shape.js';
import { didYouMean } from './suggest.js';

export function checkJumps(inv: Record<string, unknown>, base: DocPath): Finding[] {
  const hosts = new Map(entries(inv.hosts).map(([name, h]) => [name, asRecord(h)]));
  const fallback = asRecord(inv.ssh).jump;
  const jumpOf = (name: string): { jump: string; path: DocPath } | undefined => {
    const own = hosts.get(name)?.jump;
    if (typeof own === 'string') return { jump: own, path: [...base, 'hosts', name, 'jump'] };
    return typeof fallback === 'string' && fallback !== name ? { jump: fallback, path: [...base, 'ssh', 'jump'] } : undefined;
  };
  const found: Finding[] = [];

  const written = [...hosts.keys()].flatMap((name) => (typeof hosts.get(name)?.jump === 'string' ? [{ jump: hosts.get(name)!.jump as string, path: [...base, 'hosts', name, 'jump'] }] : []));
  if (typeof fallback === 'string') written.push({ jump: fallback, path: [...base, 'ssh', 'jump'] });
  for (const { jump, path } of written) {
    // user@host, host:port, a dotted name or an address are addresses; `none` turns a default off.
    if (hosts.has(jump) || /[@:.]/.test(jump) || /^(none|localhost)$/i.test(jump) || sshConfigHasHost(jump)) continue;
    found.push({
      code: 'inventory.unknown-jump',
      message: `jump: ${JSON.stringify(jump)} names no host of the inventory (nor a Host of your ssh_config)`,
      path,
      hint: didYouMean(jump, [...hosts.keys()]) ?? 'a host outside the inventory is written with its user or full name: user@bastion or bastion.example.com',
    });
  }

  // Each cycle once, at the first of its hosts in the file.
  const said = new Set<string>();
  for (const start of hosts.keys()) {
    const trail: string[] = [];
    let at: string | undefined = start;
    while (at !== undefined && hosts.has(at) && !trail.includes(at)) {
      trail.push(at);
      at = jumpOf(at)?.jump;
    }
    if (at === undefined || !trail.includes(at)) continue;
    const loop = trail.slice(trail.indexOf(at));
    const id = [...loop].sort().join(' ');
    if (said.has(id)) continue;
    said.add(id);
    const first = [...hosts.keys()].find((h) => loop.includes(h))!;
    const order = [...loop.slice(loop.indexOf(first)), ...loop.slice(0, loop.indexOf(first)), first];
    found.push({
      code: 'inventory.jump-cycle',
      message: order.length === 2 ? `host ${JSON.stringify(first)} names itself as its jump host` : `jump hosts form a cycle: ${order.join(' -> ')}`,
      path: jumpOf(first)!.path,
      hint: 'one host of the cycle must be reached directly: give it jump: none, or remove its jump',
    });
  }
  return found;
}
