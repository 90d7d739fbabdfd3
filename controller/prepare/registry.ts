// Controller-side preparation of a task's parameters, for the modules whose input lives on the
// controller (a file to copy, a template to render): it turns them into content hashes in the
// run's blob registry, so the plan stays small and the agent fetches only what it lacks.
import type { Prepare } from './contract.js';
import { prepareCopy } from './copy.js';
import { prepareImage } from './image.js';
import { prepareTemplate } from './template.js';

export type { Prepare, PrepareContext } from './contract.js';

/** Modules listed here have their rendered params passed through before the plan is sent. */
export const prepares: Record<string, Prepare> = {
  copy: prepareCopy,
  image: prepareImage,
  template: prepareTemplate,
};
