// Vagrant machines as a berth inventory document (the one format every provider produces):
// one host per machine, a `vagrant` group of them all, groups from the machine names (web1,
// web2 -> web) and the groups the playbook's reference names.
import { existsSync } from 'node:fs';
import type { InventoryDoc } from '../../controller/inventory/resolve.js';
import type { VagrantMachineSsh } from './ssh-config.js';

export const ALL_GROUP = 'vagrant';

/** `web1`, `web-2`, `db_03` -> web, web, db; `default` or `web` -> none. */
export function groupOfName(name: string): string | undefined {
  return /^(.*?[^\d_.-])[-_.]?\d+$/.exec(name)?.[1];
}

export interface VagrantInventoryOptions {
  /** Groups written in the playbook's reference; they replace a derived group of the same name. */
  groups?: Record<string, string[]>;
  /** known_hosts with the pinned keys, for machines Vagrant does not check (a Vagrantfile with verify_host_key keeps the operator's). */
  knownHosts?: string;
  /** Provider per machine name (from .vagrant/), exposed as the host var vagrant_provider. */
  providers?: ReadonlyMap<string, string>;
}

export function vagrantInventoryDoc(machines: VagrantMachineSsh[], opts: VagrantInventoryOptions = {}): InventoryDoc {
  const names = machines.map((m) => m.name);
  const hosts: NonNullable<InventoryDoc['hosts']> = {};
  for (const m of machines) {
    const provider = opts.providers?.get(m.name);
    hosts[m.name] = {
      address: m.address,
      port: m.port,
      user: m.user,
      // Vagrant lists the inserted key before the shared insecure one; the first present wins, as with ssh.
      key: m.identityFiles.find((f) => existsSync(f)) ?? m.identityFiles[0],
      known_hosts: m.hostKeysUnchecked ? opts.knownHosts : undefined,
      // Boxes log in as `vagrant` with passwordless sudo: run the agent as root, as `vagrant provision` does.
      become: m.user !== 'root',
      vars: { vagrant_machine: m.name, ...(provider ? { vagrant_provider: provider } : {}) },
    };
    for (const k of ['key', 'known_hosts'] as const) if (hosts[m.name]![k] === undefined) delete hosts[m.name]![k];
  }
  const groups: NonNullable<InventoryDoc['groups']> = { [ALL_GROUP]: { hosts: names } };
  for (const n of names) {
    const g = groupOfName(n);
    // A group named like a host would make host patterns ambiguous.
    if (!g || names.includes(g) || g === ALL_GROUP) continue;
    (groups[g] ??= { hosts: [] }).hosts!.push(n);
  }
  for (const [g, members] of Object.entries(opts.groups ?? {})) groups[g] = { hosts: [...members] };
  return { hosts, groups };
}
