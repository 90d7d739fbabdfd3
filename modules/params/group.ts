// The `group` module's parameters: its schema alone, which the controller reads without the
// module's host-side code (modules/catalog.ts).
import { Type, type Static } from '@sinclair/typebox';
import { OneOf } from '../lib/schema.js';

export const groupSchema = Type.Object(
  {
    name: Type.String({ minLength: 1, pattern: '^[A-Za-z_][A-Za-z0-9_.-]*\\$?$|\\{\\{', description: 'Group name (or a {{ template }}).' }),
    state: Type.Optional(OneOf(['present', 'absent'], 'present (default) or absent.')),
    gid: Type.Optional(Type.Integer({ minimum: 0, description: 'Numeric group id.' })),
    system: Type.Optional(Type.Boolean({ description: 'Create a system group (id from the system range) when it does not exist.' })),
  },
  { additionalProperties: false, description: 'Manages a local group.' },
);
export type GroupParams = Static<typeof groupSchema>;
