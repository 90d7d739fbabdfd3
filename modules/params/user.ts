// The `user` module's parameters: its schema alone, which the controller reads without the
// module's host-side code (modules/catalog.ts).
import { Type, type Static } from '@sinclair/typebox';
import { OneOf } from '../lib/schema.js';

export const userSchema = Type.Object(
  {
    name: Type.String({ minLength: 1, pattern: '^[A-Za-z_][A-Za-z0-9_.-]*\\$?$|\\{\\{', description: 'User name (or a {{ template }}).' }),
    state: Type.Optional(OneOf(['present', 'absent'], 'present (default) or absent.')),
    uid: Type.Optional(Type.Integer({ minimum: 0, description: 'Numeric user id.' })),
    group: Type.Optional(Type.Union([Type.String({ minLength: 1 }), Type.Integer({ minimum: 0 })], { description: 'Primary group (name or gid); it must exist. Default: a group named like the user.' })),
    groups: Type.Optional(Type.Array(Type.String({ minLength: 1 }), { description: 'Supplementary groups; they must exist.' })),
    append: Type.Optional(Type.Boolean({ description: 'Add to `groups` and keep other memberships (default false: memberships become exactly `groups`).' })),
    shell: Type.Optional(Type.String({ minLength: 1, description: 'Login shell, e.g. /bin/bash or /usr/sbin/nologin.' })),
    home: Type.Optional(Type.String({ minLength: 1, description: 'Home directory.' })),
    create_home: Type.Optional(Type.Boolean({ description: 'Create the home directory when creating the user (default true; false for system users).' })),
    system: Type.Optional(Type.Boolean({ description: 'Create a system account (id from the system range) when it does not exist.' })),
    comment: Type.Optional(Type.String({ description: 'The GECOS field (full name).' })),
    password: Type.Optional(Type.String({ description: 'Password hash as in /etc/shadow (crypt format, e.g. from `openssl passwd -6`), never plain text.' })),
    remove: Type.Optional(Type.Boolean({ description: 'With state absent: also remove the home directory and mail spool.' })),
  },
  { additionalProperties: false, description: 'Manages a local user account.' },
);
export type UserParams = Static<typeof userSchema>;
