// Small JSON state files that readers (the watcher, the agent, fs.watch callers) may read at any
// moment: written to a temp file and renamed, so a reader sees the old content or the new.
// No fsync: this is live state that the watcher rewrites every few seconds anyway.
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { writeAtomicSync } from '../../modules/lib/atomic-write.js';

/**
 * Readable by the owner alone unless `mode` says otherwise: these files hold specs (health checks
 * with their commands, registry credentials, ambassador and job settings) and are created so, never
 * readable by others for a moment.
 */
export function writeJson(path: string, value: unknown, mode = 0o600): void {
  // As root, through no link a user could have planted (modules/lib/trusted-dir.ts).
  const w = writeAtomicSync(path, JSON.stringify(value, null, 1) + '\n', mode);
  if (!w.ok) throw new Error(w.error.message);
}

/** The parsed file, or undefined when it is missing or unreadable (a half-gone file counts as gone). */
export function readJson<T>(path: string): T | undefined {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as T;
  } catch {
    return undefined;
  }
}

export function removeFile(path: string): boolean {
  try {
    rmSync(path);
    return true;
  } catch {
    return false;
  }
}

/** Every `*.json` in `dir` (not temp files), parsed; unreadable ones are skipped. */
export function readJsonDir<T>(dir: string): Array<{ file: string; value: T }> {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  return names
    .filter((n) => n.endsWith('.json'))
    .sort()
    .flatMap((n) => {
      const value = readJson<T>(join(dir, n));
      return value === undefined ? [] : [{ file: join(dir, n), value }];
    });
}
