// What an inventory provider is (providers/README.md): its own file so that providers/ and
// source.ts, which calls them, import it without importing each other.
import type { BerthError, Result } from '../errors.js';
import type { InventoryDoc } from './resolve.js';

/** What a provider gets besides its reference. */
export interface ProviderContext<Options = undefined> {
  /** The playbook's folder: paths in the reference are relative to it. */
  baseDir: string;
  /** file:line:col of the playbook's `inventory:`, for messages. */
  where: string;
  env?: NodeJS.ProcessEnv;
  /** Provider-specific knobs for tests (e.g. the vagrant provider's host key scanner). */
  options?: Options;
}

/**
 * A provider: its reference from the playbook, in; the one inventory document format, out
 * (providers/README.md). Synchronous because the inventory is resolved once, before anything
 * connects; providers that ask a program (vagrant, pulumi) run it to completion.
 */
export type InventoryProvider<Ref, Options = undefined> = (ref: Ref, ctx: ProviderContext<Options>) => Result<InventorySource, BerthError[]>;

export interface InventorySource {
  doc: InventoryDoc;
  /** The file it came from, or `<inline>`. */
  source: string;
}
