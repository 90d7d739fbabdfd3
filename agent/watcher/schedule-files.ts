// The hand-off between the agent and the watcher for scheduled jobs, the same way as for
// registrations: the converge of a scheduled job writes one schedule file per service
// (<berth>/schedules/<playbook>/<service>.json), the watcher keeps a timer per file and writes
// back what each due time did (<berth>/schedule-status/<playbook>/<service>.json). Removing the
// schedule file is all it takes to stop the timer.
import { readdirSync, rmdirSync } from 'node:fs';
import { join } from 'node:path';
import type { ScheduledRun, ScheduleReport } from '../../protocol/agent-protocol.js';
import { readJson, readJsonDir, removeFile, writeJson } from '../registry/json-file.js';
import { berthDir, fileName } from '../registry/paths.js';

export interface ScheduleFile {
  playbook: string;
  service: string;
  /** The expression as the playbook says it. */
  schedule: string;
  /** The prepared containers (one per replica): started by name, so a recreate between two runs is no matter. */
  containers: Array<{ name: string; id?: string }>;
  /** Stop a run that takes longer (the service's job timeout). */
  timeoutMs?: number;
  writtenAt: string;
}

export interface ScheduleStatus extends ScheduleReport {
  playbook: string;
  service: string;
  updatedAt: string;
}

/** Runs kept per job: enough to see a pattern, small enough to read on every `berth ps`. */
export const KEEP_RUNS = 10;

export const schedulesDir = (): string => join(berthDir(), 'schedules');
export const scheduleStatusDir = (): string => join(berthDir(), 'schedule-status');

export const schedulePath = (playbook: string, service: string): string => join(schedulesDir(), fileName(playbook), `${fileName(service)}.json`);
export const scheduleStatusPath = (playbook: string, service: string): string => join(scheduleStatusDir(), fileName(playbook), `${fileName(service)}.json`);

export const writeSchedule = (f: ScheduleFile): void => writeJson(schedulePath(f.playbook, f.service), f);
export const readSchedule = (playbook: string, service: string): ScheduleFile | undefined => readJson<ScheduleFile>(schedulePath(playbook, service));
export const readScheduleStatus = (playbook: string, service: string): ScheduleStatus | undefined => readJson<ScheduleStatus>(scheduleStatusPath(playbook, service));

export function removeSchedule(playbook: string, service: string): boolean {
  const gone = removeFile(schedulePath(playbook, service));
  removeFile(scheduleStatusPath(playbook, service));
  // An empty playbook directory would only be listed again and again.
  for (const dir of [join(schedulesDir(), fileName(playbook)), join(scheduleStatusDir(), fileName(playbook))]) {
    try {
      rmdirSync(dir);
    } catch {
      // Not empty, or already gone.
    }
  }
  return gone;
}

/** Every schedule file of one playbook, or of all of them. */
export function listSchedules(playbook?: string): ScheduleFile[] {
  const dirs = playbook !== undefined ? [fileName(playbook)] : subdirs(schedulesDir());
  return dirs.flatMap((d) => readJsonDir<ScheduleFile>(join(schedulesDir(), d)).map((e) => e.value));
}

export function listScheduleStatuses(): ScheduleStatus[] {
  return subdirs(scheduleStatusDir()).flatMap((d) => readJsonDir<ScheduleStatus>(join(scheduleStatusDir(), d)).map((e) => e.value));
}

/**
 * Read, change, write back, all synchronously: the watcher's timers and the runs they wait on
 * update the same file, and within one process nothing can come between the read and the write.
 * A schedule whose file is gone gets no status (a run that ends after its job left the playbook).
 */
export function updateScheduleStatus(f: Pick<ScheduleFile, 'playbook' | 'service' | 'schedule'>, change: (s: ScheduleStatus) => void): void {
  if (!readSchedule(f.playbook, f.service)) return;
  const s = readScheduleStatus(f.playbook, f.service) ?? { playbook: f.playbook, service: f.service, schedule: f.schedule, runs: [], updatedAt: '' };
  s.schedule = f.schedule;
  change(s);
  s.runs = s.runs.slice(-KEEP_RUNS);
  s.updatedAt = new Date().toISOString();
  writeJson(scheduleStatusPath(f.playbook, f.service), s);
}

/** Adds a run, or updates the one with the same container and start time. */
export function recordRun(s: ScheduleStatus, run: ScheduledRun): void {
  const at = s.runs.findIndex((r) => r.container === run.container && r.startedAt === run.startedAt);
  if (at >= 0) s.runs[at] = run;
  else s.runs.push(run);
}

function subdirs(dir: string): string[] {
  try {
    return readdirSync(dir, { withFileTypes: true })
      .filter((d) => d.isDirectory())
      .map((d) => d.name)
      .sort();
  } catch {
    return [];
  }
}
