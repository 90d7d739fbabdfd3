// Healthy or not over time, from a stream of check results, with Docker's semantics: failures
// during the start period do not count, `retries` consecutive failures turn a healthy instance
// unhealthy, one success makes it healthy again. A container that stopped is unhealthy at once:
// there is nothing to retry against.
import type { CheckResult } from './probe.js';
import type { HealthSpec } from './spec.js';

export type Health = 'starting' | 'healthy' | 'unhealthy';

export interface Transition {
  from: Health;
  to: Health;
}

export class HealthTracker {
  status: Health;
  failures = 0;
  lastOutput = '';
  lastCheckAt = 0;
  /** Since when the instance has been unhealthy (for restart_after). */
  unhealthySince?: number;

  constructor(
    private readonly spec: Pick<HealthSpec, 'retries' | 'startPeriodMs'>,
    initial: Health = 'starting',
  ) {
    this.status = initial;
  }

  observe(r: Pick<CheckResult, 'ok' | 'output' | 'final' | 'state' | 'startedAt'>, now = Date.now()): Transition | undefined {
    this.lastOutput = r.output;
    this.lastCheckAt = now;
    const from = this.status;
    if (r.ok) {
      this.failures = 0;
      this.status = 'healthy';
      this.unhealthySince = undefined;
    } else if (r.final || r.state !== 'running') {
      this.failures += 1;
      this.status = 'unhealthy';
    } else if (r.startedAt !== undefined && now - r.startedAt < this.spec.startPeriodMs && from !== 'healthy') {
      // Still starting: a failure now says nothing yet.
    } else {
      this.failures += 1;
      if (from !== 'healthy' || this.failures >= this.spec.retries) this.status = 'unhealthy';
    }
    if (this.status === 'unhealthy' && from !== 'unhealthy') this.unhealthySince = now;
    return from === this.status ? undefined : { from, to: this.status };
  }
}
