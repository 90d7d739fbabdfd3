// One scheduled job, kept by the watcher: at each due time start its prepared container(s), wait
// for the end, record start, end and exit code. A container still running from the previous due
// time is not started again ("skipped: still running"), as a cron job wrapped in flock would be.
// Timers are re-armed at most a minute ahead, so a clock that jumps (or a due time further away
// than setTimeout can wait) is noticed within a minute.
import type Docker from 'dockerode';
import type { ScheduledRun } from '../../protocol/agent-protocol.js';
import { nextRun, parseSchedule, type Schedule } from '../../lang/cron.js';
import { readSchedule, readScheduleStatus, recordRun, updateScheduleStatus, type ScheduleFile } from './schedule-files.js';

export interface JobEnv {
  docker: Docker;
  log: (line: string) => void;
}

const REARM_MS = 60_000;
const msg = (e: unknown) => (e as { json?: { message?: string } }).json?.message ?? (e as Error).message;

export class ScheduledJob {
  private timer?: NodeJS.Timeout;
  private stopped = false;
  private next?: Date;
  /** Containers this watcher is waiting on: started by it, or found running an unfinished run. */
  private readonly waiting = new Set<string>();
  private readonly schedule?: Schedule;
  readonly label: string;

  constructor(
    readonly file: ScheduleFile,
    private readonly env: JobEnv,
  ) {
    this.label = `${file.playbook}/${file.service}`;
    const parsed = parseSchedule(file.schedule);
    if (parsed.ok) this.schedule = parsed.value;
    else env.log(`schedule ${this.label}: ${parsed.error.message}; not scheduled`);
  }

  start(): void {
    if (!this.schedule) return;
    const before = readScheduleStatus(this.file.playbook, this.file.service);
    for (const r of before?.runs ?? []) if (!r.endedAt && !r.skipped && !r.error) void this.resume(r);
    // @every counts from the last run, so a watcher restart neither skips nor doubles one; cron
    // due times are absolute. A due time missed while no watcher ran is not made up for.
    const last = before?.runs.filter((r) => !r.skipped).at(-1)?.startedAt;
    const from = this.schedule.kind === 'every' && last ? new Date(Math.min(Date.parse(last), Date.now())) : new Date();
    this.arm(from);
  }

  /** Stops the timer. A run in progress goes on in Docker; whoever watches next records its end. */
  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  private arm(after: Date): void {
    if (this.stopped || !this.schedule) return;
    const next = nextRun(this.schedule, after);
    this.next = next && next.getTime() < Date.now() ? new Date() : next;
    updateScheduleStatus(this.file, (s) => {
      if (this.next) s.next = this.next.toISOString();
      else delete s.next;
    });
    if (!this.next) {
      this.env.log(`schedule ${this.label}: "${this.file.schedule}" has no next run`);
      return;
    }
    this.wake();
  }

  private wake(): void {
    if (this.stopped || !this.next) return;
    const due = this.next;
    const wait = due.getTime() - Date.now();
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      if (this.stopped) return;
      if (Date.now() < due.getTime()) return this.wake();
      this.fire(due);
    }, Math.max(0, Math.min(wait, REARM_MS)));
  }

  private fire(due: Date): void {
    // The agent removes the file before the container when the job leaves the playbook: a due
    // time that comes in between must not start what is being removed.
    if (!readSchedule(this.file.playbook, this.file.service)) return this.stop();
    for (const c of this.file.containers) void this.runOne(c.name);
    // The next due time counts from this one (not from the run's end): @every 1m stays on its minute.
    this.arm(due);
  }

  private async runOne(name: string): Promise<void> {
    const startedAt = new Date().toISOString();
    const record = (run: ScheduledRun) => updateScheduleStatus(this.file, (s) => recordRun(s, run));
    const c = this.env.docker.getContainer(name);
    let running: boolean;
    try {
      running = (await c.inspect()).State.Running;
    } catch (e) {
      record({ container: name, startedAt, error: `cannot inspect ${name}: ${msg(e)}` });
      return;
    }
    if (running || this.waiting.has(name)) {
      this.env.log(`schedule ${this.label}: ${name} still runs from the last due time; skipped`);
      record({ container: name, startedAt, skipped: 'still running' });
      return;
    }
    record({ container: name, startedAt });
    this.waiting.add(name);
    try {
      await c.start();
    } catch (e) {
      this.waiting.delete(name);
      record({ container: name, startedAt, endedAt: new Date().toISOString(), error: `cannot start ${name}: ${msg(e)}` });
      return;
    }
    this.env.log(`schedule ${this.label}: started ${name}`);
    await this.follow(name, { container: name, startedAt });
  }

  /** A run whose end no watcher saw (this one started after it began): finish its record. */
  private async resume(run: ScheduledRun): Promise<void> {
    try {
      const info = await this.env.docker.getContainer(run.container).inspect();
      if (info.State.Running && Date.parse(info.State.StartedAt) >= Date.parse(run.startedAt) - 5000) {
        this.waiting.add(run.container);
        return await this.follow(run.container, run);
      }
      const finished = Date.parse(info.State.FinishedAt);
      if (!info.State.Running && finished >= Date.parse(run.startedAt)) {
        return updateScheduleStatus(this.file, (s) => recordRun(s, { ...run, endedAt: new Date(finished).toISOString(), exitCode: info.State.ExitCode }));
      }
    } catch {
      // Gone: its outcome is lost.
    }
    updateScheduleStatus(this.file, (s) => recordRun(s, { ...run, error: 'the watcher restarted during the run; its outcome is unknown' }));
  }

  private async follow(name: string, run: ScheduledRun): Promise<void> {
    const c = this.env.docker.getContainer(name);
    let timedOut = false;
    const limit = this.file.timeoutMs;
    const killer = limit
      ? setTimeout(() => {
          timedOut = true;
          this.env.log(`schedule ${this.label}: ${name} ran longer than ${limit / 1000} s; stopping it`);
          void c.stop().catch(() => {});
        }, Math.max(0, Date.parse(run.startedAt) + limit - Date.now()))
      : undefined;
    try {
      const r = (await c.wait()) as { StatusCode: number };
      const end = { ...run, endedAt: new Date().toISOString(), exitCode: r.StatusCode, ...(timedOut ? { error: `stopped after ${limit! / 1000} s (the job's timeout)` } : {}) };
      this.env.log(`schedule ${this.label}: ${name} exited with ${r.StatusCode}`);
      updateScheduleStatus(this.file, (s) => recordRun(s, end));
    } catch (e) {
      updateScheduleStatus(this.file, (s) => recordRun(s, { ...run, endedAt: new Date().toISOString(), error: `lost track of ${name}: ${msg(e)}` }));
    } finally {
      clearTimeout(killer);
      this.waiting.delete(name);
    }
  }
}
