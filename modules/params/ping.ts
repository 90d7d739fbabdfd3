// The `ping` module's parameters: its schema alone, which the controller reads without the
// module's host-side code (modules/catalog.ts).
import { Type } from '@sinclair/typebox';

export const pingSchema = Type.Union([Type.Null(), Type.Object({ data: Type.Optional(Type.String({ description: 'Echoed back in the result.' })) }, { additionalProperties: false })], {
  description: 'Checks that the agent answers on the host.',
});
