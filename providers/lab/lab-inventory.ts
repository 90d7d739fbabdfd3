// The lab as a berth inventory (the static inventory format: ssh, hosts, groups, vars), so every
// command that takes an inventory works against a lab unchanged. It logs in as the unprivileged
// `berth` user and becomes root with sudo, as most fleets are reached, so the demo and every test
// on the lab's inventory go the way operators' runs go; tests that need a root login name it.
import { join } from 'node:path';
import type { LabState } from './lab-state.js';
import { APT_LINE, labDir } from './names.js';

/** inventory.yml of the lab `name` in the operator's state dir. */
export function labInventoryPath(name: string): string {
  return join(labDir(name), 'inventory.yml');
}

// Every value here is a name, an IP, a number or the apt line; JSON strings are valid YAML scalars.
const str = (s: string): string => (/^[A-Za-z0-9_.\/-]+$/.test(s) ? s : JSON.stringify(s));

export function renderInventory(s: Pick<LabState, 'name' | 'hosts'>): string {
  const out = [
    '# berth inventory (written by `berth lab up`)',
    'ssh:                      # connection defaults for every host',
    '  user: berth             # unprivileged, with passwordless sudo (root login works too)',
    '  become: true            # the agent runs as root through `sudo -n`',
    '  key: id_ed25519         # paths are relative to this file',
    '  known_hosts: known_hosts',
    'hosts:',
  ];
  for (const h of s.hosts) {
    out.push(`  ${str(h.name)}:`);
    out.push(`    address: ${str(h.address)}`);
    out.push(`    port: ${h.port}`);
    out.push(`    vars: { lab_ip: ${str(h.ip)}, lab_name: ${str(s.name)} }`);
  }
  if (s.hosts.length === 0) out[out.length - 1] = 'hosts: {}';
  out.push('groups:');
  out.push(`  lab: { hosts: [${s.hosts.map((h) => str(h.name)).join(', ')}] }`);
  out.push('vars:');
  out.push(`  berth_apt_repo: ${JSON.stringify(APT_LINE)}`);
  return out.join('\n') + '\n';
}
