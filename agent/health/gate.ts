// The gate between "container created" and "instance registered": probe until the first
// success, or fail. It fails early when waiting cannot help (the container stopped, Docker's own
// HEALTHCHECK already gave its verdict) and otherwise at the deadline. A failure carries the
// last probe output and the container's last log lines, which is what a person needs to act.
import type Docker from 'dockerode';
import type { WireError } from '../../protocol/agent-protocol.js';
import { lastLines } from '../services/log-lines.js';
import { checkOnce } from './probe.js';
import type { HealthSpec } from './spec.js';

export interface GatePassed {
  ok: true;
  /** Probe rounds it took. */
  checks: number;
  ms: number;
  output: string;
}

export interface GateFailure extends WireError {
  code: 'health.timeout' | 'health.stopped' | 'health.unhealthy' | 'health.cancelled';
  /** What the last probe round said. */
  lastOutput: string;
  /** The container's last log lines. */
  logs: string[];
  checks: number;
  ms: number;
}

export type GateResult = GatePassed | { ok: false; error: GateFailure };

export interface GateOptions {
  docker: Docker;
  /** Called after each probe round (progress for the operator). */
  onCheck?: (round: number, ok: boolean, output: string) => void;
}

/** A wait that an abort (Ctrl-C) cuts short: gates, drains, min_healthy_time. */
export const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });

/**
 * Waits until `container` passes `health`, at most until `deadline` (epoch ms). The first probe
 * runs at once: a container that is ready is not made to wait an interval.
 */
export async function waitHealthy(container: string, health: HealthSpec, deadline: number, signal: AbortSignal | undefined, opts: GateOptions): Promise<GateResult> {
  const t0 = Date.now();
  let rounds = 0;
  let last = '';
  const failure = async (code: GateFailure['code'], message: string): Promise<GateResult> => {
    const logs = await lastLines(opts.docker, container);
    const detail = [`last health output: ${last || '(none)'}`, `last log lines of ${container}:`, ...logs.map((l) => `  ${l}`)].join('\n');
    return { ok: false, error: { code, message, detail, lastOutput: last, logs, checks: rounds, ms: Date.now() - t0 } };
  };
  for (;;) {
    if (signal?.aborted) return failure('health.cancelled', `${container}: health gate cancelled`);
    const roundStart = Date.now();
    const r = await checkOnce(opts.docker, container, health);
    rounds += 1;
    last = r.output;
    opts.onCheck?.(rounds, r.ok, r.output);
    if (r.ok) return { ok: true, checks: rounds, ms: Date.now() - t0, output: r.output };
    if (r.final) return failure('health.stopped', `${container} stopped before it was healthy: ${r.output}`);
    if (r.dockerUnhealthy) return failure('health.unhealthy', `${container} is unhealthy by its own HEALTHCHECK: ${r.output}`);
    const now = Date.now();
    if (now >= deadline) return failure('health.timeout', `${container} was not healthy within ${Math.round((now - t0) / 100) / 10} s (${rounds} checks): ${r.output}`);
    await sleep(Math.min(Math.max(0, health.intervalMs - (now - roundStart)), deadline - now), signal);
  }
}
