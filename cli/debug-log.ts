// The controller's debug log: stack traces of internal errors, for a bug report. It lives in the
// operator's own state directory (~/.local/state/berth/debug.log), readable by them alone: a
// fixed path in a shared /tmp could be created first by another user (a symlink to the
// operator's files, or a file they can read), and a stack trace may quote a playbook's values.
import { appendFileSync, chmodSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { stateDir } from '../controller/paths.js';

export const debugLogPath = (): string => join(stateDir(), 'debug.log');

/** Appends one entry; returns the log's path. A log that cannot be written must not hide the error it was meant to record. */
export function appendDebugLog(text: string): string {
  const log = debugLogPath();
  try {
    mkdirSync(stateDir(), { recursive: true, mode: 0o700 });
    appendFileSync(log, `${new Date().toISOString()} ${text}\n`, { mode: 0o600 });
    // A log left by an older berth with wider permissions is narrowed too.
    chmodSync(log, 0o600);
  } catch {
    // Nothing better to do: the caller still reports the error itself.
  }
  return log;
}
