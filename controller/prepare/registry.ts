// Controller-side preparation of a task's parameters, for the modules whose input lives on the
// controller (a file to copy, a template to render): it turns them into content hashes in the
// run's blob registry, so the plan stays small and the agent fetches only what it lacks.
import type { HostFacts } from '../../protocol/agent-protocol.js';
import type { BlobRegistry } from '../blobs.js';
import type { BerthError, Result } from '../errors.js';
import { prepareCopy } from './copy.js';
import { prepareImage } from './image.js';
import { prepareTemplate } from './template.js';

export interface PrepareContext {
  blobs: BlobRegistry;
  /** Folder of the playbook: relative `src` paths start here. */
  baseDir: string;
  /** Vars, facts and names in scope for this host and task (what templates see). */
  scope: { vars: Record<string, unknown>; facts: HostFacts; host: string; groups: Record<string, string[]>; hostGroups: string[] };
  /** file:line:col of the task, for messages. */
  where: string;
}

export type Prepare = (params: unknown, ctx: PrepareContext) => Result<unknown, BerthError>;

/** Modules listed here have their rendered params passed through before the plan is sent. */
export const prepares: Record<string, Prepare> = {
  copy: prepareCopy,
  image: prepareImage,
  template: prepareTemplate,
};
