// Turns an inventory document (written by hand or by a provider; one format for both) into
// hosts with their groups, connection settings and merged vars.
import { dirname, isAbsolute, resolve as resolvePath } from 'node:path';
import type { Inventory } from '../../schema/inventory.js';
import type { InventoryHost } from '../ssh/target.js';
import type { PatternScope } from './pattern.js';

type Vars = Record<string, unknown>;

/** The inventory document, as its schema (schema/inventory.ts) defines it. */
export type InventoryDoc = Inventory;
type HostEntry = Exclude<NonNullable<Inventory['hosts']>[string], null>;

export interface ResolvedHost {
  name: string;
  connection: InventoryHost;
  /** Name of another inventory host to jump through, when `jump` names one. */
  jumpHost?: string;
  groups: string[];
  /** Inventory vars: all < groups (parents before children, then by name) < host. */
  vars: Vars;
}

export interface ResolvedInventory extends PatternScope {
  source: string;
  byName: Map<string, ResolvedHost>;
}

export function resolveInventory(doc: InventoryDoc, source: string): ResolvedInventory {
  const baseDir = source.startsWith('<') ? process.cwd() : dirname(source);
  const abs = (p?: string) => (p === undefined || isAbsolute(p) ? p : resolvePath(baseDir, p));
  const groupsDoc = doc.groups ?? {};
  const hostNames = Object.keys(doc.hosts ?? {});

  // Expand children once; depth orders group vars so that a child group overrides its parent.
  const groups = new Map<string, string[]>();
  const depth = new Map<string, number>();
  const expand = (g: string, seen: Set<string>): string[] => {
    if (groups.has(g)) return groups.get(g)!;
    if (seen.has(g)) return [];
    seen.add(g);
    const def = groupsDoc[g] ?? {};
    const members = new Set(def.hosts ?? []);
    for (const child of def.children ?? []) for (const h of expand(child, seen)) members.add(h);
    const list = hostNames.filter((h) => members.has(h));
    groups.set(g, list);
    return list;
  };
  const parentsOf = (g: string) => Object.entries(groupsDoc).filter(([, d]) => d?.children?.includes(g)).map(([p]) => p);
  const depthOf = (g: string, seen = new Set<string>()): number => {
    if (depth.has(g)) return depth.get(g)!;
    if (seen.has(g)) return 0;
    seen.add(g);
    const d = Math.max(0, ...parentsOf(g).map((p) => depthOf(p, seen) + 1));
    depth.set(g, d);
    return d;
  };
  for (const g of Object.keys(groupsDoc)) expand(g, new Set());

  const byName = new Map<string, ResolvedHost>();
  for (const name of hostNames) {
    const entry: HostEntry = doc.hosts?.[name] ?? {};
    const member = [...groups.entries()].filter(([, hs]) => hs.includes(name)).map(([g]) => g);
    const ordered = [...member].sort((a, b) => depthOf(a) - depthOf(b) || a.localeCompare(b));
    const vars: Vars = { ...(doc.vars ?? {}) };
    for (const g of ordered) Object.assign(vars, groupsDoc[g]?.vars ?? {});
    Object.assign(vars, entry.vars ?? {});
    const d = doc.ssh ?? {};
    // The default jump host is itself reached directly; a host that names itself is a cycle.
    const jump = entry.jump ?? (d.jump !== name ? d.jump : undefined);
    byName.set(name, {
      name,
      groups: ['all', ...member],
      vars,
      jumpHost: jump && hostNames.includes(jump) ? jump : undefined,
      connection: {
        name,
        address: entry.address ?? name,
        port: entry.port ?? d.port,
        user: entry.user ?? d.user,
        key: abs(entry.key ?? d.key),
        known_hosts: abs(entry.known_hosts ?? d.known_hosts),
        become: entry.become ?? d.become,
        jump: jump && !hostNames.includes(jump) ? jump : undefined,
      },
    });
  }
  groups.set('all', hostNames);
  return { source, hosts: hostNames, groups, byName };
}
