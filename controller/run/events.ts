// What a run tells the world. The controller emits these and knows nothing of how they are
// shown: cli/ renders them as a live view, plain lines or `--json` (one event per line, this
// schema, versioned by EVENTS_VERSION).
import type { ChangeReport, TaskStatus } from '../../protocol/agent-protocol.js';
import type { BerthError } from '../errors.js';

export const EVENTS_VERSION = 1;

export interface HostRecap {
  ok: number;
  changed: number;
  failed: number;
  skipped: number;
  unreachable: boolean;
  durationMs: number;
}

export type RunEvent =
  | { type: 'run-start'; playbook: string; hosts: string[]; check: boolean }
  | { type: 'host-connecting'; host: string }
  | { type: 'host-ready'; host: string; connectMs: number; agentMs: number; uploadedBytes: number; pushed: { agent: boolean; node: boolean }; os: string; node: string }
  | { type: 'host-unreachable'; host: string; error: BerthError }
  /** Something a person should fix that does not stop the run (`clock.skew` carries skewMs). */
  | { type: 'warning'; host?: string; code: string; message: string; hint?: string; skewMs?: number }
  | { type: 'play-start'; play: string; index: number; hosts: string[] }
  | { type: 'task-start'; host: string; play: number; task: number; name: string; module: string; handler?: boolean }
  /** `service`/`release`: a service task's release on the host after it (the recap's RELEASES). */
  | { type: 'task-end'; host: string; play: number; task: number; name: string; module: string; status: TaskStatus; changes: ChangeReport[]; message?: string; durationMs: number; handler?: boolean; service?: string; release?: string }
  | { type: 'output'; host: string; task: number; stream: 'stdout' | 'stderr'; line: string }
  | { type: 'progress'; host: string; task: number; label: string; done: number; total?: number }
  | { type: 'host-failed'; host: string; error: BerthError }
  | { type: 'play-end'; index: number }
  /** A rollout (a play with `rollout:`) runs its hosts batch by batch. */
  | { type: 'batch-start'; play: number; batch: number; batches: number; hosts: string[]; canary: boolean }
  | { type: 'batch-end'; play: number; batch: number; batches: number; ok: string[]; failed: string[]; durationMs: number }
  | { type: 'rollout-revert-start'; play: number; host: string }
  /** `releases`: service -> the release it is back at. */
  | { type: 'rollout-revert-end'; play: number; host: string; ok: boolean; message?: string; releases: Record<string, string> }
  | { type: 'rollout-halted'; play: number; reason: string; untouched: string[]; reverted: boolean }
  | { type: 'rollout-paused'; play: number; reason: string; remaining: string[] }
  | { type: 'cancelling'; reason: string }
  /**
   * Content the run sent (files, templates, build contexts, image layers): bytes that left the
   * controller, and bytes hosts passed to each other through their relays instead.
   */
  | { type: 'content'; fromController: number; hostToHost: number }
  | { type: 'recap'; hosts: Record<string, HostRecap> }
  | { type: 'run-end'; exitCode: number; durationMs: number };

export type EventSink = (e: RunEvent) => void;
