// The `copy` module's parameters: its schema alone, which the controller reads without the
// module's host-side code (modules/catalog.ts).
import { Type, type Static } from '@sinclair/typebox';
import { attrProperties } from '../lib/attrs.js';

export const copySchema = Type.Object(
  {
    dest: Type.String({ minLength: 1, description: 'Path on the host; a directory (or a path ending in /) receives the file under the source\'s name.' }),
    src: Type.Optional(Type.String({ minLength: 1, description: 'A file on the controller, relative to the playbook\'s folder. Exactly one of src and content.' })),
    content: Type.Optional(Type.String({ description: 'The file\'s content, inline. Exactly one of src and content.' })),
    force: Type.Optional(Type.Boolean({ description: 'Replace a file whose content differs (default true); false only creates a missing file.' })),
    ...attrProperties,
    mode: Type.Optional(Type.String({ minLength: 1, description: 'Permissions: "0644", "u=rw,g=r,o=r", or "preserve" to take the mode of src.' })),
  },
  { additionalProperties: false, description: 'Copies a file from the controller, or inline content, to the host.' },
);

export type CopyParams = Static<typeof copySchema>;
