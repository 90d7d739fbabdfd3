// What a module's controller-side preparation is given and returns: its rendered params in, the
// form the agent receives out (a hash instead of a file, an image spec). Its own file so that
// each preparer and the table of them (registry.ts) import it without importing each other.
import type { HostFacts } from '../../protocol/agent-protocol.js';
import type { BlobRegistry } from '../blobs.js';
import type { BerthError, Result } from '../errors.js';

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
