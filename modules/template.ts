// `template`: a handlebars file on the controller, rendered there per host with its vars and
// facts (controller/prepare/template.ts), then written on the host exactly like `copy`.
import { Type, type Static } from '@sinclair/typebox';
import { defineModule } from './contract.js';
import { attrProperties } from './lib/attrs.js';
import { planContentFile, type PreparedContent } from './lib/content-file.js';

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

export const template = defineModule({
  name: 'template',
  schema: templateSchema,
  // The agent receives the prepared form: the rendered text's hash, never the template.
  plan: (params, ctx) => planContentFile('template', params as unknown as PreparedContent, ctx),
});
