// `template`: a handlebars file on the controller, rendered there per host with its vars and
// facts (controller/prepare/template.ts), then written on the host exactly like `copy`.
import { defineModule } from './contract.js';
import { planContentFile, type PreparedContent } from './lib/content-file.js';
import { templateSchema, type TemplateParams } from './params/template.js';

export { templateSchema, type TemplateParams };

export const template = defineModule({
  name: 'template',
  schema: templateSchema,
  // The agent receives the prepared form: the rendered text's hash, never the template.
  plan: (params, ctx) => planContentFile('template', params as unknown as PreparedContent, ctx),
});
