// One round of a service's checks against one container: the container must be running, every
// probe the check names must pass, and so must Docker's own HEALTHCHECK when the container has
// one. The result carries the output a person needs to see why it failed.
import type Docker from 'dockerode';
import { execProbe } from './probe-exec.js';
import { httpProbe } from './probe-http.js';
import { tcpProbe } from './probe-tcp.js';
import type { HealthSpec } from './spec.js';
import { probeAddress } from './target.js';
import type { ProbeOutcome } from './outcome.js';

export type { ProbeOutcome } from './outcome.js';

/** What one round found. `state` is Docker's (running, exited, ...), `gone` when the container is not there. */
export interface CheckResult extends ProbeOutcome {
  state: string;
  /** The container stopped for good (exited, dead) or is gone: waiting longer will not help. */
  final: boolean;
  /** Docker's own HEALTHCHECK said unhealthy (it already applied its retries). */
  dockerUnhealthy: boolean;
  /** When the container last started, for the start period. */
  startedAt?: number;
  info?: Docker.ContainerInspectInfo;
}

export async function checkOnce(docker: Docker, container: string, spec: HealthSpec): Promise<CheckResult> {
  let info: Docker.ContainerInspectInfo;
  try {
    info = await docker.getContainer(container).inspect();
  } catch (e) {
    const msg = (e as { statusCode?: number }).statusCode === 404 ? `container ${container} does not exist` : `cannot inspect ${container}: ${(e as Error).message}`;
    return { ok: false, output: msg, state: 'gone', final: true, dockerUnhealthy: false };
  }
  const st = info.State;
  const startedAt = st.StartedAt ? Date.parse(st.StartedAt) : undefined;
  const base = { state: st.Status, startedAt, info, dockerUnhealthy: false };
  if (!st.Running || st.Restarting) {
    // A container in a restart loop may come back: only a stopped one is final.
    const final = !st.Restarting && (st.Status === 'exited' || st.Status === 'dead' || st.Status === 'created');
    const why = st.Restarting ? 'is restarting' : `is ${st.Status}${st.Status === 'exited' ? ` (exit code ${st.ExitCode}${st.OOMKilled ? ', killed: out of memory' : ''})` : ''}`;
    return { ...base, ok: false, final, output: `container ${why}${st.Error ? `: ${st.Error}` : ''}` };
  }
  if (st.Paused) return { ...base, ok: false, final: false, output: 'container is paused' };

  const outputs: string[] = [];
  const fail = (output: string, dockerUnhealthy = false): CheckResult => ({ ...base, ok: false, final: false, dockerUnhealthy, output: [...outputs, output].join('; ') });
  for (const [port, run] of [
    [spec.http?.port, (h: string, p: number) => httpProbe(h, p, spec.http!, spec.timeoutMs)],
    [spec.tcp?.port, (h: string, p: number) => tcpProbe(h, p, spec.timeoutMs)],
  ] as const) {
    if (port === undefined) continue;
    const addr = await probeAddress(docker, info, port);
    if (!addr.ok) return fail(addr.message);
    const r = await run(addr.host, addr.port);
    if (!r.ok) return fail(r.output);
    outputs.push(r.output);
  }
  if (spec.exec) {
    const r = await execProbe(docker, info.Id, spec.exec, spec.timeoutMs);
    if (!r.ok) return fail(r.output);
    outputs.push(r.output);
  }
  const dh = (st as { Health?: { Status: string; Log?: Array<{ ExitCode: number; Output: string }> } }).Health;
  if (spec.docker && dh && dh.Status !== 'none') {
    const last = dh.Log?.at(-1);
    const said = last ? `: exit ${last.ExitCode}${last.Output.trim() ? `: ${last.Output.trim().slice(-300)}` : ''}` : '';
    if (dh.Status !== 'healthy') return fail(`docker HEALTHCHECK is ${dh.Status}${said}`, dh.Status === 'unhealthy');
    outputs.push(`docker HEALTHCHECK is healthy`);
  }
  return { ...base, ok: true, final: false, output: outputs.join('; ') || 'running (no health checks)' };
}
