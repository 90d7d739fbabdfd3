// `copy`: puts a file from the controller (src) or inline text (content) on the host. The
// controller reads the source and sends only its hash (controller/prepare/copy.ts); the host
// writes the file, atomically, only when its content or attributes differ.
import { defineModule } from './contract.js';
import { planContentFile, type PreparedContent } from './lib/content-file.js';
import { copySchema, type CopyParams } from './params/copy.js';

export { copySchema, type CopyParams };

export const copy = defineModule({
  name: 'copy',
  schema: copySchema,
  // The agent receives the prepared form (a hash instead of src/content), not what the playbook says.
  plan: (params, ctx) => planContentFile('copy', params as unknown as PreparedContent, ctx),
});
