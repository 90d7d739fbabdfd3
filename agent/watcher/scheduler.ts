// The watcher's scheduled jobs: one ScheduledJob per schedule file. Each look (SIGHUP, a change
// in the schedules directory, the periodic rescan) starts the new ones, restarts the changed
// ones and stops those whose file is gone, along with their status. Independent of the service
// registry: a host whose only berth workload is a scheduled job needs no backend at all.
import type Docker from 'dockerode';
import { listSchedules, listScheduleStatuses, removeSchedule, readSchedule, type ScheduleFile } from './schedule-files.js';
import { ScheduledJob } from './scheduled-job.js';

const keyOf = (f: Pick<ScheduleFile, 'playbook' | 'service'>) => `${f.playbook}\u0000${f.service}`;
/** What makes a job another job: when the file was written is no matter. */
const sameJob = (a: ScheduleFile, b: ScheduleFile) => JSON.stringify({ ...a, writtenAt: '' }) === JSON.stringify({ ...b, writtenAt: '' });

export class Scheduler {
  private readonly jobs = new Map<string, ScheduledJob>();

  constructor(
    private readonly docker: Docker,
    private readonly log: (line: string) => void,
  ) {}

  sync(): void {
    const files = new Map(listSchedules().map((f) => [keyOf(f), f]));
    for (const [key, job] of this.jobs) {
      const f = files.get(key);
      if (f && sameJob(f, job.file)) continue;
      job.stop();
      this.jobs.delete(key);
      if (!f) this.log(`schedule ${job.label}: removed`);
    }
    for (const [key, f] of files) {
      if (this.jobs.has(key)) continue;
      const job = new ScheduledJob(f, { docker: this.docker, log: this.log });
      this.jobs.set(key, job);
      this.log(`schedule ${job.label}: "${f.schedule}" for ${f.containers.map((c) => c.name).join(', ') || 'no container'}`);
      job.start();
    }
    // Statuses of schedules that are gone (the agent removes both; a crash in between leaves one).
    for (const s of listScheduleStatuses()) if (!readSchedule(s.playbook, s.service)) removeSchedule(s.playbook, s.service);
  }

  stop(): void {
    for (const job of this.jobs.values()) job.stop();
    this.jobs.clear();
  }

  get size(): number {
    return this.jobs.size;
  }
}
