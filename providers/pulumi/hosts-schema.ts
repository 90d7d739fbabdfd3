// The hosts a Pulumi program hands to berth: the stack output `berthHosts` (read by the pulumi
// inventory provider) and the `hosts` input of the berth.Playbook resource are the same list.
// One schema for both; the types come from it.
import { Type, type Static } from '@sinclair/typebox';

const NAME = '^[A-Za-z0-9][A-Za-z0-9_.-]*$';

export const BerthHost = Type.Object(
  {
    name: Type.String({ pattern: NAME, description: 'Inventory name of the host (what plays and --limit name).' }),
    address: Type.String({ pattern: '^\\S+$', description: 'IP address or DNS name to connect to.' }),
    port: Type.Optional(Type.Integer({ minimum: 1, maximum: 65535, description: 'SSH port (default 22).' })),
    user: Type.Optional(Type.String({ minLength: 1, description: 'SSH login user.' })),
    key: Type.Optional(Type.String({ minLength: 1, description: 'Private key file on the machine that runs berth.' })),
    known_hosts: Type.Optional(Type.String({ minLength: 1, description: 'known_hosts file that verifies this host.' })),
    hostKey: Type.Optional(Type.String({ pattern: '^(ssh-|ecdsa-)\\S+ \\S+', description: 'The host\'s public SSH host key ("ssh-ed25519 AAAA..."), pinned for this host.' })),
    become: Type.Optional(Type.Boolean({ description: 'Run the agent through sudo.' })),
    jump: Type.Optional(Type.String({ minLength: 1, description: 'Jump host: another host\'s name, or "user@address:port".' })),
    groups: Type.Optional(Type.Array(Type.String({ pattern: NAME }), { description: 'Groups the host belongs to.' })),
    vars: Type.Optional(Type.Record(Type.String(), Type.Unknown(), { description: 'Host vars.' })),
  },
  { additionalProperties: false },
);
export type BerthHost = Static<typeof BerthHost>;

export const BerthHosts = Type.Array(BerthHost);

/** Connection settings every host starts from (the inventory's `ssh:`), output as `berthSsh`. */
export const BerthSsh = Type.Object(
  {
    user: Type.Optional(Type.String({ minLength: 1 })),
    key: Type.Optional(Type.String({ minLength: 1 })),
    known_hosts: Type.Optional(Type.String({ minLength: 1 })),
    port: Type.Optional(Type.Integer({ minimum: 1, maximum: 65535 })),
    become: Type.Optional(Type.Boolean()),
    jump: Type.Optional(Type.String({ minLength: 1 })),
  },
  { additionalProperties: false },
);
export type BerthSsh = Static<typeof BerthSsh>;

/** Stack output names berth reads. */
export const OUTPUT_HOSTS = 'berthHosts';
export const OUTPUT_SSH = 'berthSsh';
export const OUTPUT_VARS = 'berthVars';
