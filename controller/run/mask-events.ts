// The controller's own pass over every event before any reporter sees it: each string masked
// with all of the run's secrets (whatever a host was sent, or sent back), as structured values so
// that a secret "42" or "type" can never reach into a number, a key or an event's type.
import { masker, maskDeep, secretDiffNote } from '../../protocol/mask.js';
import type { EventSink, RunEvent } from './events.js';

/** Fields whose words reporters and scripts act on (an event's type, a status, a host name): never masked. */
const STRUCTURAL = new Set(['type', 'status', 'stream', 'module', 'code', 'host', 'hosts']);

export function maskingSink(sink: EventSink, secrets: readonly string[]): EventSink {
  const mask = masker(secrets);
  return (e) => sink(maskEvent(e, mask));
}

function maskEvent(e: RunEvent, mask: (text: string) => string): RunEvent {
  const m = maskDeep(e, mask, STRUCTURAL);
  if (m.type !== 'task-end' || e.type !== 'task-end') return m;
  // A diff that showed a secret shows none of its lines, masked or not.
  return { ...m, changes: m.changes.map((c, i) => (c.diff !== undefined && c.diff !== e.changes[i]?.diff ? { ...c, diff: secretDiffNote(e.changes[i].diff!) } : c)) };
}
