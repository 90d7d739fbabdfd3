// An inventory file: hosts, groups and vars, with SSH defaults. The lab writes this same format,
// so every key stays optional: a host needs no more than its name.
import { Type, type Static } from '@sinclair/typebox';
import { Port, Vars, mapOf, nameExpected, nameKey, strictObject } from './common.js';

const jumpExpected = 'a host of the inventory, or "user@address:port"';

const sshProperties = {
  user: Type.Optional(Type.String({ minLength: 1, description: 'SSH login user.' })),
  key: Type.Optional(Type.String({ minLength: 1, description: 'Private key file, relative to the inventory file.' })),
  known_hosts: Type.Optional(Type.String({ minLength: 1, description: 'known_hosts file that verifies host keys, relative to the inventory file.' })),
  port: Type.Optional(Port('SSH port (default 22).')),
  become: Type.Optional(Type.Boolean({ description: 'Use sudo for tasks on this host.' })),
  jump: Type.Optional(Type.String({ pattern: '^(?:[^@\\s]+@)?[^@\\s:]+(?::\\d+)?$', expected: jumpExpected, description: 'Jump host (ProxyJump): an inventory host name or "user@address:port".' })),
};

export const SshDefaults = strictObject(sshProperties, { title: 'ssh defaults', description: 'SSH settings every host starts from.' });

export const InventoryHost = Type.Union(
  [
    Type.Null(),
    strictObject(
      {
        address: Type.Optional(Type.String({ pattern: '^\\S+$', expected: 'a host name or an IP address', description: 'Host name or IP address to connect to (default: the host\'s name).' })),
        ...sshProperties,
        vars: Type.Optional(Vars('Variables of this host (they win over group vars).')),
      },
      { title: 'host', description: 'How to reach one host, and its vars.' },
    ),
  ],
  { description: 'A host: empty (its name is its address) or its connection settings and vars.' },
);
export type InventoryHost = Static<typeof InventoryHost>;

export const InventoryGroup = Type.Union(
  [
    Type.Null(),
    strictObject(
      {
        hosts: Type.Optional(Type.Array(Type.String({ minLength: 1 }), { description: 'Hosts in this group (names from `hosts:`).' })),
        children: Type.Optional(Type.Array(Type.String({ minLength: 1 }), { description: 'Groups whose hosts are also in this group.' })),
        vars: Type.Optional(Vars('Variables of the group\'s hosts.')),
      },
      { title: 'group', description: 'A named set of hosts and child groups, and their vars.' },
    ),
  ],
  { description: 'A group: its hosts, child groups and vars.' },
);
export type InventoryGroup = Static<typeof InventoryGroup>;

export const Inventory = strictObject(
  {
    ssh: Type.Optional(SshDefaults),
    hosts: Type.Optional(mapOf(InventoryHost, { description: 'Hosts by name.', keyPattern: nameKey, keyExpected: nameExpected })),
    groups: Type.Optional(mapOf(InventoryGroup, { description: 'Groups by name (`all` holds every host).', keyPattern: nameKey, keyExpected: nameExpected })),
    vars: Type.Optional(Vars('Variables of every host.')),
  },
  { title: 'inventory', description: 'Hosts, groups and their vars, with SSH defaults.' },
);
export type Inventory = Static<typeof Inventory>;
