// The watcher: the agent in daemon mode, one per host. It owns the host's registrations: every
// instance file under <registry>/instances gets a Monitor (probe, register, withdraw, restart),
// every ambassador file an AmbassadorSync (registry -> haproxy.cfg -> reload), every schedule
// file under <berth>/schedules a timer that runs its scheduled job. The agent talks to it
// through those files and three signals:
//   SIGHUP  look again (instances, ambassadors, schedules, the backend settings)
//   SIGTERM hand over: exit without withdrawing anything (a newer watcher is taking over; what it
//           does not re-register runs out with its TTL)
//   SIGINT  withdraw every registration, then exit
import type Docker from 'dockerode';
import { docker as dockerClient } from '../docker-client.js';
import { listAmbassadors, type AmbassadorSpec } from '../ambassador/spec.js';
import { startAmbassadorSync, type AmbassadorSync } from '../ambassador/sync.js';
import { readHostConfig, type HostRegistryConfig } from '../registry/host-config.js';
import { listInstances, listStatuses, removeStatus, sameRegistration, type InstanceFile } from '../registry/instance-files.js';
import { openRegistry } from '../registry/open.js';
import type { Registry } from '../registry/types.js';
import { watchDir } from './dir-watch.js';
import { onContainerEvents } from './docker-events.js';
import { Monitor } from './monitor.js';
import { liveWatcher, writePidfile } from './pidfile.js';
import { schedulesDir } from './schedule-files.js';
import { Scheduler } from './scheduler.js';
import { agentFile, agentSha } from './self.js';

const RESCAN_MS = 30_000;

const log = (line: string) => process.stderr.write(`${new Date().toISOString()} ${line}\n`);

export async function runWatcher(): Promise<never> {
  const other = liveWatcher();
  if (other && other.pid !== process.pid) {
    log(`another watcher runs already (pid ${other.pid}); exiting`);
    process.exit(3);
  }
  const docker = await dockerClient();
  const w = new Watcher(docker);
  // Handlers before the pidfile: the agent signals as soon as it sees the pidfile, and an
  // unhandled SIGHUP would end the process.
  process.on('SIGHUP', () => void w.reload());
  process.on('SIGTERM', () => void w.shutdown(true));
  process.on('SIGINT', () => void w.shutdown(false));
  process.on('uncaughtException', (e) => {
    log(`internal error: ${e.stack ?? e.message}`);
    process.exit(70);
  });
  writePidfile({ pid: process.pid, sha: agentSha(), agent: agentFile(), startedAt: new Date().toISOString() });
  log(`watcher ${agentSha().slice(0, 12)} started (pid ${process.pid})`);
  await w.reload();
  watchDir(schedulesDir(), () => void w.reload(), log);
  setInterval(() => void w.reload(), RESCAN_MS);
  return new Promise<never>(() => {});
}

class Watcher {
  private config?: HostRegistryConfig;
  private registry?: Registry;
  private monitors = new Map<string, Monitor>();
  private ambassadors = new Map<string, { text: string; sync: AmbassadorSync }>();
  private stopEvents?: () => void;
  private queue = Promise.resolve();
  /** Health of instances across a backend switch, so healthy ones are registered again at once. */
  private initialHealth = new Map<string, Monitor['health']>();
  private exiting = false;
  private readonly scheduler: Scheduler;

  constructor(private readonly docker: Docker) {
    this.scheduler = new Scheduler(docker, log);
  }

  /** Reloads are queued: a burst of SIGHUPs from several tasks is handled one after the other. */
  reload(): Promise<void> {
    this.queue = this.queue.then(() => this.reloadNow()).catch((e) => void log(`reload failed: ${(e as Error).stack ?? e}`));
    return this.queue;
  }

  private async reloadNow(): Promise<void> {
    if (this.exiting) return;
    // Schedules first: they need no registry, and a backend that cannot be reached (below) must
    // not hold up a host's scheduled jobs.
    this.scheduler.sync();
    const config = readHostConfig();
    if (!this.registry || JSON.stringify(config) !== JSON.stringify(this.config)) await this.switchBackend(config);
    if (!this.registry) return;
    this.scanInstances();
    this.scanAmbassadors();
    this.stopEvents ??= onContainerEvents(this.docker, (id) => this.onEvent(id), log);
  }

  /** A new backend (or new settings): withdraw from the old one, then register everything anew. */
  private async switchBackend(config: HostRegistryConfig): Promise<void> {
    const previous = new Map([...this.monitors].map(([id, m]) => [id, m.health]));
    for (const m of this.monitors.values()) await m.stop(true);
    this.monitors.clear();
    for (const a of this.ambassadors.values()) a.sync.stop();
    this.ambassadors.clear();
    await this.registry?.close();
    const opened = await openRegistry(config.backend, config.host);
    if (!opened.ok) {
      log(`registry: ${opened.error.message}; trying again in ${RESCAN_MS / 1000} s`);
      this.registry = undefined;
      return;
    }
    log(`registry: ${config.backend.kind}${config.backend.kind === 'etcd' ? ` ${config.backend.endpoints.join(',')}` : ''} as host ${config.host} (${config.address})`);
    this.registry = opened.value;
    this.config = config;
    this.initialHealth = previous;
  }

  private scanInstances(): void {
    const files = new Map(listInstances().map((f) => [f.id, f]));
    for (const [id, m] of this.monitors) {
      const f = files.get(id);
      if (!f) {
        // The agent removed it (drained before a stop, or the service left): withdraw it.
        this.monitors.delete(id);
        void m.stop(true);
      } else if (!sameRegistration(f, m.file)) {
        // A new container under the same name (a new release): the new registration overwrites the old key.
        this.monitors.delete(id);
        void m.stop(false).then(() => this.startMonitor(f));
      }
    }
    for (const f of files.values()) if (!this.monitors.has(f.id)) this.startMonitor(f);
    // Status files of instances that are gone entirely.
    for (const s of listStatuses()) if (!files.has(s.id)) removeStatus(s.id);
  }

  private startMonitor(f: InstanceFile): void {
    if (!this.registry || !this.config || this.monitors.has(f.id)) return;
    const m = new Monitor(f, { registry: this.registry, docker: this.docker, config: this.config, log }, this.initialHealth.get(f.id));
    this.initialHealth.delete(f.id);
    this.monitors.set(f.id, m);
    m.start();
  }

  private scanAmbassadors(): void {
    const specs = new Map(listAmbassadors().map((s) => [s.name, s]));
    for (const [name, a] of this.ambassadors) {
      const s = specs.get(name);
      if (!s || JSON.stringify(s) !== a.text) {
        a.sync.stop();
        this.ambassadors.delete(name);
      }
    }
    for (const s of specs.values()) if (!this.ambassadors.has(s.name)) this.startAmbassador(s);
  }

  private startAmbassador(s: AmbassadorSpec): void {
    if (!this.registry) return;
    this.ambassadors.set(s.name, { text: JSON.stringify(s), sync: startAmbassadorSync(s, this.registry, this.docker, log) });
  }

  private onEvent(containerId: string): void {
    for (const m of this.monitors.values()) if (m.file.containerId === containerId) m.poke();
  }

  async shutdown(handover: boolean): Promise<void> {
    if (this.exiting) return;
    this.exiting = true;
    log(handover ? 'handing over: leaving registrations to the next watcher' : 'stopping: withdrawing every registration');
    this.stopEvents?.();
    // Runs in progress go on in Docker; the next watcher records their end.
    this.scheduler.stop();
    for (const a of this.ambassadors.values()) a.sync.stop();
    await Promise.all([...this.monitors.values()].map((m) => m.stop(!handover)));
    await this.registry?.close({ handover });
    process.exit(0);
  }
}
