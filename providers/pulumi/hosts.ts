// A Pulumi program's host list as a berth inventory document. Hosts that carry their host key
// (a program that generates host keys and hands them to cloud-init knows them before first
// contact) get it pinned in a known_hosts file; the others are verified by the operator's
// known_hosts as usual.
import type { TSchema } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { badInput, type BerthError } from '../../controller/errors.js';
import type { InventoryDoc } from '../../controller/inventory/resolve.js';
import { knownHostsName } from '../../controller/ssh/known-hosts.js';
import type { BerthHost, BerthSsh } from './hosts-schema.js';

const wording = (message: string): string =>
  message === 'Expected required property' ? 'is required' : message === 'Unexpected property' ? 'is not a known key' : message.charAt(0).toLowerCase() + message.slice(1);

/** Every place `value` breaks `schema` (the first problem per place), as errors a person can act on. */
export function schemaErrors(schema: TSchema, value: unknown, label: string, where: string, hint?: string): BerthError[] {
  const seen = new Set<string>();
  const out: BerthError[] = [];
  for (const e of Value.Errors(schema, value)) {
    if (seen.has(e.path)) continue;
    seen.add(e.path);
    out.push(badInput('inventory.pulumi-shape', `${label}${e.path.replace(/\//g, '.')}: ${wording(e.message)}`, where, hint));
    if (out.length === 10) break;
  }
  return out;
}

export interface HostsInventory {
  doc: InventoryDoc;
  /** known_hosts lines for hosts that carry a hostKey ('' when none does). */
  knownHosts: string;
}

export function hostsInventory(hosts: BerthHost[], opts: { ssh?: BerthSsh; vars?: Record<string, unknown>; knownHostsPath: string }): HostsInventory {
  const doc: InventoryDoc = { hosts: {}, groups: {}, vars: { ...(opts.vars ?? {}) } };
  if (opts.ssh) doc.ssh = { ...opts.ssh };
  const lines: string[] = [];
  for (const h of hosts) {
    const entry: NonNullable<NonNullable<InventoryDoc['hosts']>[string]> = { address: h.address };
    for (const k of ['port', 'user', 'key', 'known_hosts', 'become', 'jump'] as const) if (h[k] !== undefined) (entry as Record<string, unknown>)[k] = h[k];
    if (h.vars) entry.vars = h.vars;
    if (h.hostKey) {
      entry.known_hosts = opts.knownHostsPath;
      lines.push(`${knownHostsName(h.address, h.port ?? opts.ssh?.port ?? 22)} ${h.hostKey.trim().split(/\s+/).slice(0, 2).join(' ')}`);
    }
    doc.hosts![h.name] = entry;
    for (const g of h.groups ?? []) (doc.groups![g] ??= { hosts: [] }).hosts!.push(h.name);
  }
  return { doc, knownHosts: lines.length ? lines.join('\n') + '\n' : '' };
}

/** Names given twice, and groups named like a host: both make host patterns ambiguous. */
export function hostListErrors(hosts: BerthHost[], label: string, where: string): BerthError[] {
  const errors: BerthError[] = [];
  const seen = new Set<string>();
  for (const h of hosts) {
    if (seen.has(h.name)) errors.push(badInput('inventory.pulumi-duplicate', `${label}: host ${h.name} is listed twice`, where));
    seen.add(h.name);
  }
  for (const h of hosts) for (const g of h.groups ?? []) if (seen.has(g)) errors.push(badInput('inventory.pulumi-group-name', `${label}: host ${h.name} is in group ${g}, which is also a host's name`, where));
  return errors;
}
