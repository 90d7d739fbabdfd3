// The fleet commands' work, without their presentation: ps gathers every host's containers, logs
// streams or merges their lines, exec runs a command in one container, run runs a job once.
import { parse as parseYaml } from 'yaml';
import type { AgentEvent, RunResult, ServiceContainerStatus } from '../../protocol/agent-protocol.js';
import { serviceTaskModules, type ServiceSpec } from '../../modules/service-spec.js';
import { BlobRegistry } from '../blobs.js';
import { badInput, err, ok, type BerthError, type Result } from '../errors.js';
import { matchPattern } from '../inventory/pattern.js';
import { buildPlan } from '../run/build-plan.js';
import { ask, onHosts, type Fleet, type HostOutcome } from './fleet.js';
import { LogMerge } from './log-merge.js';
import { playServices } from './play-services.js';
import type { AgentClient } from '../agent/agent-client.js';
import type { ResolvedHost } from '../inventory/resolve.js';
import { acquireRunLocks, lockOwner } from '../run/locks.js';
import type { Service } from '../../schema/service.js';
import { dirname } from 'node:path';

export type ContainerOutput = Extract<AgentEvent, { kind: 'container-output' }> & { host: string };

/** `web`, `web.2`, `web/logs`, `web/logs.2` as a selector. */
export function parseTarget(text: string): Result<{ service: string; sidecar?: string; replica?: number }> {
  const m = /^([A-Za-z0-9][A-Za-z0-9_.-]*?)(?:\/([A-Za-z0-9][A-Za-z0-9_-]*?))?(?:\.(\d+))?$/.exec(text);
  if (!m) return err(badInput('fleet.target', `"${text}" is not a service: expected SERVICE, SERVICE.REPLICA or SERVICE/SIDECAR[.REPLICA]`, undefined, 'for example: web, web.2, web/logs'));
  return ok({ service: m[1], ...(m[2] ? { sidecar: m[2] } : {}), ...(m[3] ? { replica: Number(m[3]) } : {}) });
}

export function ps(fleet: Fleet, service: string | undefined, opts: { acceptNewHostKeys?: boolean }): Promise<Array<HostOutcome<ServiceContainerStatus[]>>> {
  return onHosts(fleet, fleet.hosts, (host, agent) => ask<ServiceContainerStatus[]>(agent, host.name, { method: 'services.ps', params: { playbook: fleet.project, service } }), opts);
}

export async function logs(
  fleet: Fleet,
  target: { service: string; sidecar?: string; replica?: number },
  opts: { follow: boolean; since?: string; tail?: number; acceptNewHostKeys?: boolean; signal?: AbortSignal; onLine: (l: ContainerOutput) => void },
): Promise<Array<HostOutcome<{ lines: number }>>> {
  const merged = new LogMerge<ContainerOutput>(opts.onLine);
  const outcomes = await onHosts(
    fleet,
    fleet.hosts,
    (host, agent) =>
      ask<{ lines: number }>(agent, host.name, { method: 'services.logs', params: { playbook: fleet.project, ...target, follow: opts.follow, since: opts.since, tail: opts.tail } }, (e) => {
        if (e.kind !== 'container-output') return;
        const line = { ...e, host: host.name };
        if (opts.follow) opts.onLine(line);
        else merged.add(line);
      }),
    opts,
  );
  // Without -f every host's lines are in: one timeline across the fleet.
  merged.flush();
  return outcomes;
}

/** Runs the command on the first host (of --host, or of the inventory) with a running container. */
export async function exec(
  fleet: Fleet,
  target: { service: string; sidecar?: string; replica?: number },
  cmd: string[],
  opts: { host?: string; user?: string; workdir?: string; acceptNewHostKeys?: boolean; signal?: AbortSignal; onLine: (l: ContainerOutput) => void },
): Promise<Result<{ host: string; container: string; exitCode: number }>> {
  const hosts = opts.host ? [opts.host] : fleet.hosts;
  if (opts.host && !fleet.inventory.byName.has(opts.host)) return err(badInput('fleet.unknown-host', `--host ${opts.host} is not a host of the inventory`, '--host', `hosts: ${[...fleet.inventory.byName.keys()].slice(0, 10).join(', ')}`));
  const misses: BerthError[] = [];
  for (const name of hosts) {
    const [r] = await onHosts(
      fleet,
      [name],
      (host, agent) =>
        ask<{ exitCode: number; container: string }>(agent, host.name, { method: 'services.exec', params: { playbook: fleet.project, ...target, cmd, user: opts.user, workdir: opts.workdir } }, (e) => {
          if (e.kind === 'container-output') opts.onLine({ ...e, host: host.name });
        }),
      opts,
    );
    if (r.ok) return ok({ host: name, ...r.value });
    if (r.error.code !== 'services.not-running') return err(r.error);
    misses.push(r.error);
  }
  return err({ code: 'services.not-running', message: `no running container of ${target.service}${target.sidecar ? `/${target.sidecar}` : ''}${target.replica ? `.${target.replica}` : ''} on ${hosts.length === 1 ? hosts[0] : `any of ${hosts.length} hosts`}`, hint: 'see what runs where with `berth ps`', exit: 1 });
}

export interface JobRun {
  exitCode?: number;
  error?: BerthError;
}

/**
 * `berth run JOB`: the job's spec rendered for each host of its play (as `apply` would render
 * it), then run once there, on every targeted host at once, its output streamed back.
 */
export async function runJob(
  fleet: Fleet,
  job: string,
  opts: { extraVars: string[]; acceptNewHostKeys?: boolean; signal?: AbortSignal; onLine: (host: string, stream: 'stdout' | 'stderr', line: string) => void },
): Promise<Result<Array<HostOutcome<JobRun>>, BerthError[]>> {
  const pb = fleet.playbook;
  if (!pb) return err([badInput('run.no-playbook', 'berth run needs the playbook that defines the job (-p)', undefined, 'for example: berth run backup -p playbooks/demo.yml')]);
  const extraVars: Record<string, unknown> = {};
  for (const kv of opts.extraVars) {
    const at = kv.indexOf('=');
    if (at <= 0) return err([badInput('flags.extra-vars', `-e expects KEY=VALUE, got "${kv}"`, '-e')]);
    try {
      extraVars[kv.slice(0, at)] = parseYaml(kv.slice(at + 1)) ?? '';
    } catch {
      extraVars[kv.slice(0, at)] = kv.slice(at + 1);
    }
  }
  const found = servicePlay(fleet, job, 'run');
  if (!found.ok) return err([found.error]);
  const { playIndex, hosts } = found.value;
  // Running a job by name selects its profiles, as `docker compose run` does.
  const profiles = found.value.service.profiles ?? [];
  if (profiles.length) extraVars.berth_profiles = [...profiles, ...(Array.isArray(extraVars.berth_profiles) ? extraVars.berth_profiles : [])];

  const outcomes = await onHosts(
    fleet,
    hosts,
    async (host, agent): Promise<Result<JobRun>> => {
      // A job changes the host (it writes volumes): it runs under the host's deploy lock, so it
      // never runs beside an apply or a rollback there. Each host on its own: a locked host is
      // refused and the others run the job.
      const locks = await acquireRunLocks([{ host: host.name, agent }], { owner: lockOwner('run', { playbook: fleet.project }), onWarning: (w) => opts.onLine(host.name, 'stderr', `warning: ${w.message}`) });
      if (!locks.ok) return err(locks.error[0].error);
      if (locks.value.failed.length) return err(locks.value.failed[0].error);
      try {
        return await runOn(host, agent);
      } finally {
        await locks.value.release();
      }
    },
    opts,
  );
  return ok(outcomes);

  async function runOn(host: ResolvedHost, agent: AgentClient): Promise<Result<JobRun>> {
    const pb = fleet.playbook!;
    const facts = agent.facts!;
    // A job built from `build:` that the host lacks is built before it runs: its context is served from here.
    const blobs = new BlobRegistry();
    agent.blobs = blobs;
    const plan = buildPlan(
      { playbookPath: pb.path, playbook: pb.doc, where: pb.where, inventory: fleet.inventory, extraVars, secrets: [], secretVars: {}, tags: { only: [], skip: [] }, check: false, diff: false },
      playIndex,
      host,
      facts,
      blobs,
    );
    if (!plan.ok) return plan;
    const task = plan.value.tasks.find((t) => t.module === serviceTaskModules.converge && (t.params as ServiceSpec).service === job);
    if (!task) return err({ code: 'run.not-planned', message: `"${job}" is not converged on ${host.name} (a profile or tag leaves it out)`, where: host.name });
    const spec = task.params as ServiceSpec;
    const runPlan = { ...plan.value, tasks: [{ index: 0, name: `run ${job}`, module: serviceTaskModules.runJob, params: { service: spec } }], handlers: [] };
    let exitCode: number | undefined;
    let message: string | undefined;
    const res = await agent.request({ method: 'run', params: runPlan }, (e) => {
      if (e.kind === 'output') opts.onLine(host.name, e.stream, e.line);
      if (e.kind === 'task-end') {
        message = e.status === 'failed' ? e.message : undefined;
        const m2 = /exited with (-?\d+)/.exec(e.message ?? '');
        exitCode = e.status === 'failed' ? (m2 ? Number(m2[1]) : undefined) : 0;
      }
    }).done;
    if (!res.ok) return err({ code: res.error.code, message: res.error.message, where: host.name });
    const r = res.result as RunResult;
    if (r.failed && exitCode === undefined) return err({ code: 'run.failed', message: message ?? 'the job could not run', where: host.name });
    return ok({ exitCode });
  }
}

/** The play of the playbook that has service `name`, and the selected hosts it targets. */
export function servicePlay(fleet: Fleet, name: string, command: string): Result<{ playIndex: number; hosts: string[]; service: Service }> {
  const pb = fleet.playbook;
  if (!pb) return err(badInput(`${command}.no-playbook`, `berth ${command} needs the playbook that defines "${name}" (-p)`, undefined, `for example: berth ${command} ${name} -p playbooks/demo.yml`));
  for (const [i, play] of pb.doc.plays.entries()) {
    const s = playServices(play, dirname(pb.path), (path) => pb.where(['plays', i, ...path]));
    if (!s.ok || !(name in s.value.services)) continue;
    const m = matchPattern(play.hosts, fleet.inventory);
    const hosts = fleet.hosts.filter((h) => m.ok && m.hosts.includes(h));
    if (hosts.length === 0) return err(badInput(`${command}.no-hosts`, `the play of "${name}" targets none of the selected hosts`, pb.where(['plays', i, 'hosts'])));
    return ok({ playIndex: i, hosts, service: s.value.services[name] });
  }
  return err(badInput(`${command}.unknown-service`, `no play of ${pb.path} has a service named "${name}"`, pb.where(['plays'])));
}
