// A service instance's way in and out of the fleet: after its container starts, it must pass its
// health gate (and stay healthy for min_healthy_time) before it is registered; before its
// container stops, it leaves the registry and drains. What is not healthy is never registered.
import type Docker from 'dockerode';
import type { ApplyResult } from '../../modules/contract.js';
import type { ServiceSpec } from '../../modules/service-spec.js';
import type { HostFacts } from '../../protocol/agent-protocol.js';
import type { Health } from '../../schema/service.js';
import { sleep, waitHealthy } from '../health/gate.js';
import { lastLines } from './log-lines.js';
import { checkOnce } from '../health/probe.js';
import { normalizeHealth, type HealthSpec } from '../health/spec.js';
import { readInstance } from '../registry/instance-files.js';
import { deregisterInstance, registerInstance } from '../registry/register-instance.js';

export interface GateContext {
  docker: Docker;
  spec: ServiceSpec;
  release: string;
  facts: Pick<HostFacts, 'init'>;
  signal: AbortSignal;
  output: (stream: 'stdout' | 'stderr', line: string) => void;
}

/** A service is gated when it says how to check it, registers, or carries a Docker HEALTHCHECK. */
export const isGated = (spec: ServiceSpec): boolean => !spec.job && (spec.health !== undefined || spec.register !== undefined || spec.main.healthcheck !== undefined);

function health(spec: ServiceSpec): { ok: true; value: HealthSpec } | { ok: false; error: { code: string; message: string } } {
  return normalizeHealth(spec.health as Health | undefined);
}

/**
 * Waits until the container is healthy, then keeps it under watch for min_healthy_time, then
 * registers it when the service registers. Fails with the probe's last output and the
 * container's last log lines, and registers nothing.
 */
export async function admit(container: string, ctx: GateContext): Promise<ApplyResult> {
  if (!isGated(ctx.spec)) return { ok: true };
  const h = health(ctx.spec);
  if (!h.ok) return h;
  const update = ctx.spec.update;
  const deadline = Date.now() + (update?.healthyDeadlineMs ?? 5 * 60_000);
  const gate = await waitHealthy(container, h.value, deadline, ctx.signal, { docker: ctx.docker });
  if (!gate.ok) return { ok: false, error: { code: gate.error.code, message: gate.error.message, detail: gate.error.detail }, data: { lastOutput: gate.error.lastOutput, logs: gate.error.logs } };
  const minHealthy = update?.minHealthyMs ?? 0;
  if (minHealthy > 0) {
    // Nomad's min_healthy_time: passing the gate once is not enough, it must stay healthy (by
    // the check's own retries) for a while before the next instance is touched.
    const until = Date.now() + minHealthy;
    let failures = 0;
    while (Date.now() < until && !ctx.signal.aborted) {
      await sleep(Math.min(h.value.intervalMs, until - Date.now()), ctx.signal);
      const r = await checkOnce(ctx.docker, container, h.value);
      failures = r.ok ? 0 : failures + 1;
      if (r.final || r.dockerUnhealthy || failures >= h.value.retries) {
        const logs = await lastLines(ctx.docker, container);
        const detail = [`last health output: ${r.output}`, `last log lines of ${container}:`, ...logs.map((l) => `  ${l}`)].join('\n');
        return { ok: false, error: { code: 'health.unstable', message: `${container} passed its gate but did not stay healthy for ${minHealthy / 1000} s: ${r.output}`, detail } };
      }
    }
  }
  if (!ctx.spec.register) return { ok: true };
  const reg = ctx.spec.register;
  const r = await registerInstance(
    { container, service: reg.name, port: reg.port, tags: reg.tags, release: ctx.release, meta: Object.keys(reg.meta).length ? reg.meta : undefined, health: h.value, gatedAt: new Date().toISOString() },
    ctx.facts,
    { signal: ctx.signal },
  );
  return r.ok ? { ok: true } : r;
}

/** Takes a container out of the registry and lets it drain; false when it was not registered. */
export async function withdraw(container: string, ctx: Pick<GateContext, 'spec' | 'facts' | 'signal'>, drainMs = ctx.spec.update?.drainMs ?? 0): Promise<ApplyResult & { drained?: boolean }> {
  if (!readInstance(container)) return { ok: true, drained: false };
  const r = await deregisterInstance(container, ctx.facts);
  if (!r.ok) return r;
  if (drainMs > 0) await sleep(drainMs, ctx.signal);
  return { ok: true, drained: true };
}

/** The container is registered, but its registration no longer says what the spec says (or the other way round). */
export function registrationDrift(container: string, spec: ServiceSpec): 'missing' | 'stale' | undefined {
  const current = readInstance(container);
  if (!spec.register) return current ? 'stale' : undefined;
  if (!current) return 'missing';
  const r = spec.register;
  const same = current.service === r.name && (r.port === undefined || current.port === r.port) && JSON.stringify(current.tags) === JSON.stringify(r.tags);
  return same ? undefined : 'missing';
}
