// depends_on, as Compose means it: before a service's containers are created or started, each
// dependency must reach its condition (started, healthy, completed successfully). Polled every
// 500 ms, as Compose does, up to a deadline; an optional dependency (required: false) that never
// gets there is a warning, not a failure.
import type Docker from 'dockerode';
import type { DependsOn, ServiceSpec } from '../../modules/service-spec.js';
import type { WireError } from '../../protocol/agent-protocol.js';
import { observe, type Observed } from './observe.js';

const POLL_MS = 500;

type Judgement = { state: 'ready' } | { state: 'waiting'; why: string } | { state: 'failed'; why: string };

/** Where a dependency stands, from its containers (its own, not its sidecars' nor its runs'). */
export function judge(dep: DependsOn, containers: Observed[]): Judgement {
  const own = containers.filter((c) => c.role === '' && !c.oneoff);
  if (own.length === 0) return { state: 'failed', why: `${dep.service} has no containers on this host` };
  switch (dep.condition) {
    case 'service_started':
      return own.some((c) => c.state === 'running' || (c.job && c.state === 'exited')) ? { state: 'ready' } : { state: 'waiting', why: `${dep.service} is not running` };
    case 'service_healthy': {
      const bad = own.find((c) => c.health === 'unhealthy');
      if (bad) return { state: 'failed', why: `${bad.name} is unhealthy` };
      const bare = own.find((c) => c.state === 'running' && c.health === undefined);
      if (bare) return { state: 'failed', why: `${dep.service} has no healthcheck, and service_healthy needs one` };
      const pending = own.find((c) => c.state !== 'running' || c.health !== 'healthy');
      return pending ? { state: 'waiting', why: `${pending.name} is ${pending.state === 'running' ? 'starting' : pending.state}` } : { state: 'ready' };
    }
    case 'service_completed_successfully': {
      const failedRun = own.find((c) => c.state === 'exited' && c.exitCode !== 0);
      if (failedRun) return { state: 'failed', why: `${failedRun.name} exited with ${failedRun.exitCode}` };
      const running = own.find((c) => c.state !== 'exited');
      return running ? { state: 'waiting', why: `${running.name} has not finished` } : { state: 'ready' };
    }
  }
}

const WORDS: Record<DependsOn['condition'], string> = {
  service_started: 'to start',
  service_healthy: 'to be healthy',
  service_completed_successfully: 'to complete successfully',
};

export async function waitForDependencies(
  docker: Docker,
  spec: ServiceSpec,
  opts: { signal: AbortSignal; warn: (line: string) => void },
): Promise<{ ok: true } | { ok: false; error: WireError }> {
  for (const dep of spec.dependsOn) {
    const deadline = Date.now() + dep.timeoutMs;
    for (;;) {
      const j = judge(dep, await observe(docker, spec.playbook, dep.service));
      if (j.state === 'ready') break;
      const timedOut = Date.now() >= deadline;
      if (j.state === 'failed' || timedOut || opts.signal.aborted) {
        const why = j.state === 'waiting' && timedOut ? `timed out after ${Math.round(dep.timeoutMs / 1000)}s (${j.why})` : opts.signal.aborted ? 'cancelled' : j.why;
        const message = `${spec.service} waits for ${dep.service} ${WORDS[dep.condition]}: ${why}`;
        if (!dep.required) {
          opts.warn(`warning: ${message}; going on (required: false)`);
          break;
        }
        return { ok: false, error: { code: 'services.dependency', message } };
      }
      await new Promise((r) => setTimeout(r, POLL_MS));
    }
  }
  return { ok: true };
}
