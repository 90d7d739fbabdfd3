// The module contract. One function, `plan`, reads the host's current state and returns the
// changes needed to reach the desired state; an empty list means "already converged". Both
// `--check` (report the changes) and a real run (apply them) go through it, so what berth says
// it would do and what it does cannot disagree.

import type { Readable } from 'node:stream';
import type { Static, TSchema } from '@sinclair/typebox';
import type { HostFacts, WireError } from '../protocol/agent-protocol.js';
import type { RunAs } from './lib/run-as.js';

export interface ModuleContext {
  facts: HostFacts;
  check: boolean;
  diff: boolean;
  /** The task's `environment` (play and task): every program the module runs gets it. */
  env?: Record<string, string>;
  /** The task's `become_user`, for modules that declare `becomeUser`: their program runs as this user. */
  runAs?: RunAs;
  /** The run's secrets this host was sent, by name (a service's release records names, not values). */
  secrets?: Record<string, string>;
  /** Streams a line of a child's output back to the controller (masked there for secrets). */
  output(stream: 'stdout' | 'stderr', line: string): void;
  progress(label: string, done: number, total?: number): void;
  /** Aborted when the run is cancelled; long operations should stop early. */
  signal: AbortSignal;
  /**
   * Path of a local file holding the content with this sha256, fetched from the controller only
   * when the host's blob store lacks it. Call it only when the content is really needed.
   */
  blob(sha256: string): Promise<{ ok: true; path: string } | { ok: false; error: WireError }>;
  /**
   * The content with this sha256 as it arrives, for content used once and passed on (an image
   * layer into `docker load`): nothing is written to disk, and the stream fails at its end when
   * the content does not match its hash. Absent where the agent cannot stream (then use blob).
   */
  blobStream?(sha256: string): Readable;
}

export type ApplyResult =
  | { ok: true; data?: Record<string, unknown> }
  /** `data` on a failure still reaches `register` and `failed_when` (e.g. a command's rc). */
  | { ok: false; error: WireError; data?: Record<string, unknown> };

export interface Change {
  summary: string;
  cause?: string;
  /** A unified diff or before/after text, computed only when the plan asks for diffs. */
  diff?: string;
  apply(): Promise<ApplyResult>;
}

export type PlanResult = { ok: true; changes: Change[]; data?: Record<string, unknown> } | { ok: false; error: WireError };

export interface BerthModule<S extends TSchema = TSchema> {
  name: string;
  /** Parameters, declared once: the playbook schema and the agent both use this. */
  schema: S;
  /**
   * The module runs a program the playbook names (command, shell), which `become_user` runs as
   * that user. Other modules act as the agent (root), and validation refuses become_user on them.
   */
  becomeUser?: true;
  plan(params: Static<S>, ctx: ModuleContext): Promise<PlanResult>;
}

export function defineModule<S extends TSchema>(m: BerthModule<S>): BerthModule<S> {
  return m;
}

export const converged = (data?: Record<string, unknown>): PlanResult => ({ ok: true, changes: [], data });
export const failed = (code: string, message: string, detail?: string): { ok: false; error: WireError } => ({
  ok: false,
  error: { code, message, detail },
});
