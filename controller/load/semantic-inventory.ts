// What the inventory schema cannot say: that groups name hosts and groups that exist, that child
// groups do not contain each other, and that jump hosts exist and do not go round in a cycle.
// Runs on whatever parsed, even when the schema failed, so a person sees every mistake in one run.
import { checkJumps } from './inventory-jumps.js';
import type { Finding } from './problems.js';
import type { DocPath } from './path.js';
import { didYouMean, shortList } from './suggest.js';
import { asList, asRecord, entries } from './shape.js';

export function checkInventory(data: unknown, base: DocPath = []): Finding[] {
  const inv = asRecord(data);
  const hosts = new Set(Object.keys(asRecord(inv.hosts)));
  const groups = asRecord(inv.groups);
  const groupNames = new Set(Object.keys(groups));
  const found: Finding[] = [];

  for (const [name, g] of entries(groups)) {
    const group = asRecord(g);
    const at: DocPath = [...base, 'groups', name];
    if (hosts.has(name)) {
      found.push({
        code: 'inventory.name-clash',
        message: `${JSON.stringify(name)} is both a host and a group`,
        path: at,
        key: true,
        hint: 'rename one of them: a host pattern naming it would be ambiguous',
      });
    }
    asList(group.hosts).forEach((h, i) => {
      if (typeof h !== 'string' || hosts.has(h)) return;
      found.push({
        code: 'inventory.unknown-host',
        message: `group ${JSON.stringify(name)} lists host ${JSON.stringify(h)}, which is not in hosts`,
        path: [...at, 'hosts', i],
        hint: didYouMean(h, hosts) ?? (hosts.size ? `hosts are: ${shortList([...hosts])}` : 'define it under `hosts:` first'),
      });
    });
    asList(group.children).forEach((c, i) => {
      if (typeof c !== 'string' || groupNames.has(c)) return;
      found.push({
        code: 'inventory.unknown-group',
        message: `group ${JSON.stringify(name)} has child group ${JSON.stringify(c)}, which is not in groups`,
        path: [...at, 'children', i],
        hint: didYouMean(c, groupNames) ?? (hosts.has(c) ? `${JSON.stringify(c)} is a host: list it under hosts, not children` : `groups are: ${shortList([...groupNames])}`),
      });
    });
  }
  found.push(...cycles(groups, base), ...checkJumps(inv, base));
  return found;
}

/** Each cycle among child groups once, reported where it closes. */
function cycles(groups: Record<string, unknown>, base: DocPath): Finding[] {
  const found: Finding[] = [];
  const state = new Map<string, 'open' | 'done'>();
  const trail: string[] = [];
  const visitGroup = (name: string) => {
    state.set(name, 'open');
    trail.push(name);
    asList(asRecord(groups[name]).children).forEach((child, i) => {
      if (typeof child !== 'string' || !(child in groups)) return;
      if (state.get(child) === 'open') {
        const loop = [...trail.slice(trail.indexOf(child)), child];
        found.push({
          code: 'inventory.group-cycle',
          message: `groups contain each other in a cycle: ${loop.join(' -> ')}`,
          path: [...base, 'groups', name, 'children', i],
          hint: `remove ${JSON.stringify(child)} from the children of ${JSON.stringify(name)} (or the other way round)`,
        });
      } else if (!state.has(child)) {
        visitGroup(child);
      }
    });
    trail.pop();
    state.set(name, 'done');
  };
  for (const name of Object.keys(groups)) if (!state.has(name)) visitGroup(name);
  return found;
}
