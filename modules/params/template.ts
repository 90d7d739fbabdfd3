// The `template` module's parameters: its schema alone, which the controller reads without the
// module's host-side code (modules/catalog.ts).
import { Type, type Static } from '@sinclair/typebox';
import { attrProperties } from '../lib/attrs.js';

export const templateSchema = Type.Object(
  {
    src: Type.String({ minLength: 1, description: 'A handlebars template on the controller, relative to the playbook\'s folder.' }),
    dest: Type.String({ minLength: 1, description: 'Path of the rendered file on the host.' }),
    force: Type.Optional(Type.Boolean({ description: 'Replace a file whose content differs (default true); false only creates a missing file.' })),
    ...attrProperties,
  },
  { additionalProperties: false, description: 'Renders a handlebars template with the host\'s vars and facts and writes it to the host.' },
);

export type TemplateParams = Static<typeof templateSchema>;
