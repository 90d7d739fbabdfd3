// `copy`: puts a file from the controller (src) or inline text (content) on the host. The
// controller reads the source and sends only its hash (controller/prepare/copy.ts); the host
// writes the file, atomically, only when its content or attributes differ.
import { Type, type Static } from '@sinclair/typebox';
import { defineModule } from './contract.js';
import { attrProperties } from './lib/attrs.js';
import { planContentFile, type PreparedContent } from './lib/content-file.js';

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

export const copy = defineModule({
  name: 'copy',
  schema: copySchema,
  // The agent receives the prepared form (a hash instead of src/content), not what the playbook says.
  plan: (params, ctx) => planContentFile('copy', params as unknown as PreparedContent, ctx),
});
