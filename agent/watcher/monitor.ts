// One registered instance, watched: probe it at its interval (and at once when Docker reports
// something happened to its container), keep it registered while it is healthy, withdraw it the
// moment it is not, register it again when it recovers, and restart a container that stays
// unhealthy when the instance asks for that. Each round's findings go to its status file.
import type Docker from 'dockerode';
import { checkOnce, type CheckResult } from '../health/probe.js';
import { HealthTracker, type Health } from '../health/tracker.js';
import { advertisedAddress } from '../registry/advertise.js';
import type { HostRegistryConfig } from '../registry/host-config.js';
import { readInstance, readStatus, registrationKey, removeStatus, writeStatus, type InstanceFile } from '../registry/instance-files.js';
import type { Instance, Registry } from '../registry/types.js';

export interface MonitorEnv {
  registry: Registry;
  docker: Docker;
  config: HostRegistryConfig;
  log: (line: string) => void;
}

export class Monitor {
  private readonly tracker: HealthTracker;
  private timer?: NodeJS.Timeout;
  private busy = false;
  private again = false;
  private stopped = false;
  private registered = false;
  private registeredAt?: string;
  private advertised?: { address: string; port: number };
  private error?: string;
  private restarts = 0;

  constructor(
    readonly file: InstanceFile,
    private readonly env: MonitorEnv,
    initial?: Health,
  ) {
    // A previous watcher's word on the same container (this one took over after an upgrade):
    // carry on from it, so a healthy instance is renewed at once and keeps its registration time.
    // Only recent words count: a watcher that starts after a crash checks before it registers.
    const recent = (iso: string | undefined) => iso !== undefined && Date.now() - Date.parse(iso) < Math.max(10_000, 3 * file.health.intervalMs);
    const before = readStatus(file.id);
    const inherited = before && before.containerId === file.containerId && before.registered && recent(before.updatedAt) ? before : undefined;
    this.registeredAt = inherited?.registeredAt;
    // A gated instance passed its checks moments ago: register it now, not an interval later.
    this.tracker = new HealthTracker(file.health, initial ?? (recent(file.gatedAt) || inherited ? 'healthy' : 'starting'));
    this.tracker.lastOutput = inherited?.lastOutput ?? (recent(file.gatedAt) ? `passed its health gate at ${file.gatedAt}` : '');
  }

  get health(): Health {
    return this.tracker.status;
  }

  start(): void {
    if (this.tracker.status === 'healthy') void this.run(() => this.ensureRegistered(undefined).then(() => this.report()));
    else this.poke();
  }

  /** Check now (a Docker event about the container, a nudge from the agent). */
  poke(): void {
    void this.run(() => this.round());
  }

  /** Stops watching; `withdraw` also deregisters (the instance left), otherwise a successor takes over. */
  async stop(withdraw: boolean): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    while (this.busy) await new Promise((r) => setTimeout(r, 20));
    if (withdraw) {
      if (this.registered) await this.env.registry.deregister(this.file.service, this.env.config.host, this.file.id);
      removeStatus(this.file.id);
    }
  }

  /** Rounds never overlap: a poke during a round asks for one more right after it. */
  private async run(work: () => Promise<void>): Promise<void> {
    if (this.stopped) return;
    if (this.busy) {
      this.again = true;
      return;
    }
    this.busy = true;
    clearTimeout(this.timer);
    try {
      await work();
      while (this.again && !this.stopped) {
        this.again = false;
        await this.round();
      }
    } catch (e) {
      this.env.log(`${this.file.id}: internal error: ${(e as Error).stack ?? e}`);
    } finally {
      this.busy = false;
      if (!this.stopped) {
        this.timer = setTimeout(() => this.poke(), this.file.health.intervalMs);
        this.timer.unref?.();
      }
    }
  }

  private async round(): Promise<void> {
    const r = await checkOnce(this.env.docker, this.file.containerId, this.file.health);
    if (this.stopped) return;
    const t = this.tracker.observe(r);
    if (t) this.env.log(`${this.file.id}: ${t.from} -> ${t.to}: ${r.output}`);
    if (this.tracker.status === 'healthy') await this.ensureRegistered(r);
    else if (this.tracker.status === 'unhealthy' && this.registered) await this.withdraw();
    await this.maybeRestart(r);
    this.report();
  }

  private async ensureRegistered(r: CheckResult | undefined): Promise<void> {
    // The agent may have removed the instance (drain before stop) while this round probed.
    if (!readInstance(this.file.id)) return;
    const info = r?.info ?? (await this.env.docker.getContainer(this.file.containerId).inspect().catch(() => undefined));
    if (!info) return;
    const addr = await advertisedAddress(this.env.docker, info, this.file.port, this.env.config.address);
    if (!addr.ok) {
      this.error = addr.message;
      return;
    }
    this.advertised = { address: addr.address, port: addr.port };
    const instance: Instance = {
      id: this.file.id,
      service: this.file.service,
      host: this.env.config.host,
      address: addr.address,
      port: addr.port,
      tags: this.file.tags,
      release: this.file.release,
      health: 'passing',
      registeredAt: this.registeredAt ?? new Date().toISOString(),
      ...(this.file.meta ? { meta: this.file.meta } : {}),
    };
    const res = await this.env.registry.register(instance, this.file.ttlMs);
    if (res.ok) {
      if (!this.registered) this.env.log(`${this.file.id}: registered as ${instance.service} at ${addr.address}:${addr.port}`);
      this.registered = true;
      this.registeredAt = instance.registeredAt;
      this.error = undefined;
    } else {
      this.error = res.error.message;
      this.env.log(`${this.file.id}: ${res.error.message}`);
    }
  }

  private async withdraw(): Promise<void> {
    const res = await this.env.registry.deregister(this.file.service, this.env.config.host, this.file.id);
    if (res.ok) {
      this.env.log(`${this.file.id}: deregistered (${this.tracker.lastOutput})`);
      this.registered = false;
      this.registeredAt = undefined;
      this.error = undefined;
    } else {
      // It stays in the backend until its lease runs out; try again next round.
      this.error = res.error.message;
      this.env.log(`${this.file.id}: ${res.error.message}`);
    }
  }

  private async maybeRestart(r: CheckResult): Promise<void> {
    const after = this.file.restartAfterMs;
    const since = this.tracker.unhealthySince;
    if (after === undefined || since === undefined || Date.now() - since < after || r.state === 'gone') return;
    this.env.log(`${this.file.id}: unhealthy for ${Math.round((Date.now() - since) / 1000)} s: restarting the container`);
    this.restarts += 1;
    // Counted from now again: a container that stays unhealthy is restarted once per period, not in a loop.
    this.tracker.unhealthySince = Date.now();
    await this.env.docker.getContainer(this.file.containerId).restart({ t: 10 }).catch((e: Error) => this.env.log(`${this.file.id}: restart failed: ${e.message}`));
  }

  private report(): void {
    if (this.stopped) return;
    writeStatus({
      id: this.file.id,
      service: this.file.service,
      host: this.env.config.host,
      container: this.file.container,
      containerId: this.file.containerId,
      release: this.file.release,
      tags: this.file.tags,
      health: this.tracker.status,
      registered: this.registered,
      ...(this.registeredAt ? { registeredAt: this.registeredAt } : {}),
      ...(this.advertised ?? {}),
      lastOutput: this.tracker.lastOutput,
      ...(this.tracker.lastCheckAt ? { lastCheckAt: new Date(this.tracker.lastCheckAt).toISOString() } : {}),
      failures: this.tracker.failures,
      ...(this.error ? { error: this.error } : {}),
      restarts: this.restarts,
      backend: this.env.registry.kind,
      updatedAt: new Date().toISOString(),
      registration: registrationKey(this.file),
    });
  }
}
