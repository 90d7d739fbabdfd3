// One run of a playbook: connect every targeted host in parallel and start its agent, then for
// each play render every host's whole plan and send it in one request. Plays are barriers (play
// 2 starts when play 1 ended on every host), hosts within a play never wait for each other. A
// host that cannot be reached or fails drops out; the others go on.
import pLimit from 'p-limit';
import type { HostPlan, RequestBody, RunResult, WireError } from '../../protocol/agent-protocol.js';
import { RELAY_MIN_BYTES } from '../../protocol/agent-protocol.js';
import { fromWire, startAgent, type AgentStart } from '../agent/start-agent.js';
import { skewWarning } from '../agent/clock-skew.js';
import { ExitCode, type BerthError, type Result } from '../errors.js';
import { matchPattern } from '../inventory/pattern.js';
import type { ResolvedHost, ResolvedInventory } from '../inventory/resolve.js';
import type { HostTransport } from '../transport.js';
import type { EventSink, HostRecap } from './events.js';
import { BlobRegistry } from '../blobs.js';
import { checkConditions } from '../load/conditions.js';
import { buildPlan } from './build-plan.js';
import { maskingSink } from './mask-events.js';
import { secretsPerHost } from './plan-secrets.js';
import { composeSecretValues } from './compose-secrets.js';
import type { PlaybookShape } from './playbook-shape.js';
import type { TagFilter } from './tags.js';
import type { Rollout } from '../../schema/rollout.js';
import { serviceTaskModules, type RevertSpec, type ServiceSpec } from '../../modules/service-spec.js';
import { runOrigin } from './origin.js';
import { pinDigests } from '../services/pin-digests.js';
import { runRollout, type HostOutcome } from './rollout.js';
import { syncRegistry, type RegistryPeer } from './registry-sync.js';
import { SERVICES_VAR } from '../../lang/discovery-helpers.js';
import type { LockOwner } from '../../protocol/agent-protocol.js';
import { acquireRunLocks, warnIfLocked, type LockWarning, type RunLocks } from './locks.js';
import { openRelays } from '../relay/open-relays.js';
import type { RelayBroker } from '../relay/broker.js';

type Vars = Record<string, unknown>;

export interface ApplyOptions {
  playbookPath: string;
  playbook: PlaybookShape;
  /** file:line:col of a path inside the playbook, for messages. */
  where: (path: Array<string | number>) => string;
  inventory: ResolvedInventory;
  limit?: string;
  extraVars: Vars;
  /** Vars whose values are secret: usable everywhere, shown nowhere. */
  secretVars?: Vars;
  tags?: TagFilter;
  check: boolean;
  diff: boolean;
  forks: number;
  sink: EventSink;
  /** Aborted on Ctrl-C: hosts stop after their current task. */
  signal: AbortSignal;
  /** Opens a transport to a host (SSH, or local for tests). */
  connect: (host: ResolvedHost) => Promise<Result<HostTransport>>;
  /**
   * Deploy locks (locks.ts): who this run is, and the playbook's fleet lock name. Absent: no
   * lock is taken (library callers, tests on this machine). Check mode only warns of held ones.
   */
  lock?: { owner: LockOwner; fleet?: string };
  /**
   * false: every host gets content from the controller. Otherwise, when a run has content of
   * RELAY_MIN_BYTES or more for two hosts or more, hosts pass it on to each other (controller/relay/).
   */
  relay?: boolean;
  /** `berth promote`: a rollout goes on past its canary batch without pausing. */
  promote?: boolean;
  /**
   * A host's plan for a play, instead of rendering the playbook's (`berth rollback`: the
   * recorded release is what runs, whatever the playbook's vars say now).
   */
  planFor?: (playIndex: number, host: ResolvedHost, secretVars: Vars) => HostPlan;
}

interface Live {
  host: ResolvedHost;
  transport: HostTransport;
  agent: AgentStart;
}

export async function applyPlaybook(opts: ApplyOptions): Promise<number> {
  const t0 = performance.now();
  const secretVars = opts.secretVars ?? {};
  // The Compose files' secrets are masked as the playbook's are, without becoming vars.
  const masked = { ...secretVars, ...composeSecretValues(opts.playbook, opts.playbookPath, opts.where) };
  const secrets = Object.values(masked).filter((v): v is string => typeof v === 'string' && v.length > 0);
  // Every event passes through the mask before any reporter sees it.
  const o: ApplyOptions = { ...opts, sink: secrets.length ? maskingSink(opts.sink, secrets) : opts.sink };
  const pick = targets(o);
  const recap: Record<string, HostRecap> = {};
  const all = [...new Set(pick.flat())];
  for (const h of all) recap[h] = { ok: 0, changed: 0, failed: 0, skipped: 0, unreachable: false, durationMs: 0 };
  o.sink({ type: 'run-start', playbook: o.playbookPath, hosts: all, check: o.check });

  const limit = pLimit(o.forks);
  const blobs = new BlobRegistry();
  const live = new Map<string, Live>();
  const lost = new Set<string>();
  /** Set once hosts relay content to each other (below, before the plays). */
  let relay: RelayBroker | undefined;
  await Promise.all(
    all.map((name) =>
      limit(async () => {
        if (o.signal.aborted) return;
        const host = o.inventory.byName.get(name)!;
        const started = performance.now();
        o.sink({ type: 'host-connecting', host: name });
        const transport = await o.connect(host);
        if (!transport.ok) return unreachable(name, transport.error);
        const connectMs = performance.now() - started;
        const agent = await startAgent(transport.value, { become: host.connection.become === true, host: name });
        if (!agent.ok) {
          transport.value.close();
          // Facts that fail their schema come from a broken or compromised host, not the network.
          if (agent.error.code === 'agent.bad-facts') {
            recap[name].failed += 1;
            return o.sink({ type: 'host-failed', host: name, error: agent.error });
          }
          return unreachable(name, agent.error);
        }
        agent.value.client.onLost((e) => hostLost(name, e));
        agent.value.client.blobs = blobs;
        live.set(name, { host, transport: transport.value, agent: agent.value });
        const facts = agent.value.hello.facts;
        o.sink({
          type: 'host-ready',
          host: name,
          connectMs: Math.round(connectMs),
          agentMs: Math.round(performance.now() - started - connectMs),
          uploadedBytes: agent.value.uploadedBytes,
          pushed: agent.value.pushed,
          os: facts.os.name,
          node: facts.node,
        });
        const skew = skewWarning(name, agent.value.clock);
        if (skew) o.sink({ type: 'warning', host: name, ...skew });
      }),
    ),
  );
  function unreachable(name: string, error: BerthError) {
    recap[name].unreachable = true;
    o.sink({ type: 'host-unreachable', host: name, error });
  }
  // Reported once, whether the agent dies mid-plan or between plays. A connection that went
  // away is the network's doing (Ansible's UNREACHABLE, exit 3); an agent that died is a
  // failure on the host (exit 1).
  function hostLost(name: string, e: WireError) {
    if (lost.has(name)) return;
    lost.add(name);
    // Hosts fetching from its relay fall back to the controller; none is sent there any more.
    relay?.drop(name);
    if (e.code === 'agent.connection-lost') unreachable(name, fromWire(e, name));
    else o.sink({ type: 'host-failed', host: name, error: fromWire(e, name) });
  }

  const failed = new Set<string>();
  let cancelled = o.signal.aborted;
  const onAbort = () => {
    cancelled = true;
    o.sink({ type: 'cancelling', reason: 'interrupted: every host stops after its current task' });
    for (const l of live.values()) l.agent.client.cancelAll();
  };
  o.signal.addEventListener('abort', onAbort, { once: true });

  // The registry as the fleet sees it now: templates read it (`berth_services`), and hosts on
  // the embedded backend learn each other's instances. One request per host, in parallel, on the
  // channels already open; the view is pushed again after the plays (see below).
  const peers = (): RegistryPeer[] => [...live].filter(([h]) => !lost.has(h)).map(([host, l]) => ({ host, ask: (body) => l.agent.client.request(body).done }));
  const inventoryHosts = [...o.inventory.byName.keys()];
  const registry = o.planFor ? undefined : await syncRegistry(peers(), { push: !o.check, inventory: inventoryHosts });
  // What a host said of other hosts, or could not say well: not believed, and the operator is told.
  for (const w of registry?.warnings ?? []) o.sink({ type: 'warning', ...w });
  const runVars = registry ? { [SERVICES_VAR]: registry.services, ...o.extraVars } : o.extraVars;

  // Every host's plan for every play is rendered before the first task runs: a template error
  // (a variable missing for one host) is bad input, and bad input changes nothing anywhere.
  const plans = new Map<string, HostPlan>();
  // Each host is sent the secrets its own tasks use, and no other.
  const narrow = secretsPerHost(masked, blobs);
  const planErrors: Array<{ host: string; error: BerthError }> = [];
  o.playbook.plays.forEach((_, index) => {
    for (const name of pick[index]) {
      const l = live.get(name);
      if (!l) continue;
      const plan = o.planFor ? { ok: true as const, value: o.planFor(index, l.host, secretVars) } : buildPlan({ ...o, extraVars: runVars, secrets, secretVars, tags: o.tags ?? { only: [], skip: [] } }, index, l.host, l.agent.hello.facts, blobs);
      if (plan.ok) plans.set(`${index}/${name}`, o.planFor ? plan.value : narrow(plan.value));
      else planErrors.push({ host: name, error: plan.error });
    }
  });
  if (planErrors.length) {
    for (const { host, error } of planErrors) o.sink({ type: 'host-failed', host, error });
    await Promise.all([...live.values()].map((l) => closeHost(l)));
    o.sink({ type: 'run-end', exitCode: ExitCode.badInput, durationMs: Math.round(performance.now() - t0) });
    return ExitCode.badInput;
  }

  // Every host's deploy lock before the first task anywhere: a host another run holds stops this
  // run here, having changed nothing. Released below, after the plays (and after Ctrl-C).
  let locks: RunLocks | undefined;
  if (o.lock && !cancelled) {
    const targets = all.filter((h) => live.has(h) && !lost.has(h)).map((host) => ({ host, agent: live.get(host)!.agent.client }));
    const onWarning = (w: LockWarning) => o.sink({ type: 'warning', ...w });
    if (o.check) await warnIfLocked(targets, { fleet: o.lock.fleet, onWarning });
    else {
      const got = await acquireRunLocks(targets, { owner: o.lock.owner, fleet: o.lock.fleet, onWarning });
      if (!got.ok) {
        for (const { host, error } of got.error) {
          recap[host].failed += 1;
          o.sink({ type: 'host-failed', host, error });
        }
        o.signal.removeEventListener('abort', onAbort);
        await Promise.all([...live.values()].map((l) => closeHost(l)));
        o.sink({ type: 'recap', hosts: recap });
        o.sink({ type: 'run-end', exitCode: ExitCode.failed, durationMs: Math.round(performance.now() - t0) });
        return ExitCode.failed;
      }
      locks = got.value;
      for (const { host, error } of locks.failed) {
        failed.add(host);
        if (lost.has(host)) continue; // reported already, as unreachable or lost
        recap[host].failed += 1;
        o.sink({ type: 'host-failed', host, error });
      }
    }
  }

  // Large content for several hosts: they relay it to each other rather than each wait on the controller.
  if (o.relay !== false && !o.check && !cancelled && blobs.largest >= RELAY_MIN_BYTES) {
    const hosts = all.filter((h) => live.has(h) && !lost.has(h) && !failed.has(h)).map((host) => ({ host, vars: live.get(host)!.host.vars, request: (body: RequestBody) => live.get(host)!.agent.client.request(body).done }));
    relay = await openRelays(hosts, (w) => o.sink({ type: 'warning', ...w }));
    if (relay) for (const h of hosts) live.get(h.host)!.agent.client.relay = { host: h.host, broker: relay };
  }

  /** One host's plan of one play, its events forwarded; how it ended. */
  async function runHostPlay(index: number, name: string): Promise<HostOutcome> {
    const l = live.get(name);
    if (!l || failed.has(name)) return 'lost';
    const began = performance.now();
    const plan = plans.get(`${index}/${name}`)!;
    const res = await sendPlan(index, name, plan);
    recap[name].durationMs += performance.now() - began;
    if (!res.ok) {
      failed.add(name);
      if (res.error.code !== 'agent.connection-lost') recap[name].failed += 1;
      hostLost(name, res.error);
      return 'lost';
    }
    const r = res.result as RunResult;
    for (const k of ['ok', 'changed', 'failed', 'skipped'] as const) recap[name][k] += r[k];
    if (r.cancelled && !cancelled) {
      // Not our Ctrl-C: the host stopped the run because its deploy lock expired unrenewed.
      recap[name].failed += 1;
      o.sink({ type: 'host-failed', host: name, error: { code: 'lock.expired', message: 'the host stopped this run after its task in progress: its deploy lock expired before this controller renewed it', where: name, hint: 'was this controller suspended or its network cut? run apply again', exit: ExitCode.failed } });
    }
    if (r.failed > 0 || (r.cancelled && !cancelled)) failed.add(name);
    return r.failed > 0 || (r.cancelled && !cancelled) ? 'failed' : 'ok';
  }

  function sendPlan(index: number, name: string, plan: HostPlan, onRelease?: (service: string, release: string) => void) {
    const l = live.get(name)!;
    const names = new Map([...plan.tasks, ...plan.handlers].map((t) => [t.index, t]));
    // A task ends once: a host that says so again is not heard (the reporters keep each task-end).
    const ended = new Set<number>();
    const req = l.agent.client.request({ method: 'run', params: plan }, (e) => {
      const t = names.get(e.kind === 'progress' ? -1 : e.task);
      if (e.kind === 'task-start') o.sink({ type: 'task-start', host: name, play: index, task: e.task, name: e.name, module: e.module, handler: e.handler });
      else if (e.kind === 'task-end' && t && !ended.has(e.task)) {
        ended.add(e.task);
        o.sink({ type: 'task-end', host: name, play: index, task: e.task, name: t.name, module: t.module, status: e.status, changes: e.changes, message: e.message, durationMs: e.durationMs, handler: e.handler, ...(e.release ? { service: e.service, release: e.release } : {}) });
        if (e.service && e.release) onRelease?.(e.service, e.release);
      }
      else if (e.kind === 'output') o.sink({ type: 'output', host: name, task: e.task, stream: e.stream, line: e.line });
      else if (e.kind === 'progress') o.sink({ type: 'progress', host: name, task: e.task, label: e.label, done: e.done, total: e.total });
    });
    if (cancelled) l.agent.client.cancel(req.id);
    return req.done;
  }

  /** A rollout's automatic revert on one host: each service of the play back to its release before this run. */
  async function revertHost(index: number, name: string): Promise<{ ok: boolean; message?: string; releases: Record<string, string> }> {
    const l = live.get(name);
    const plan = plans.get(`${index}/${name}`);
    if (!l || !plan || lost.has(name)) return { ok: false, message: 'the host is no longer reachable', releases: {} };
    const origin = runOrigin(o.playbookPath);
    const services = plan.tasks.filter((t) => t.module === serviceTaskModules.converge && !(t.params as ServiceSpec).job).map((t) => t.params as ServiceSpec);
    const tasks = services.map((s, i) => ({ index: 100_000 + i, name: `revert ${s.service}`, module: serviceTaskModules.revert, params: { playbook: s.playbook, service: s.service, notRun: origin.runId, origin } satisfies RevertSpec }));
    if (tasks.length === 0) return { ok: true, message: 'no service to revert', releases: {} };
    const releases: Record<string, string> = {};
    const res = await sendPlan(index, name, { ...plan, tasks, handlers: [] }, (service, release) => (releases[service] = release));
    if (!res.ok) return { ok: false, message: res.error.message, releases };
    const r = res.result as RunResult;
    return { ok: r.failed === 0, message: r.failed ? `${r.failed} service${r.failed === 1 ? '' : 's'} could not be reverted` : undefined, releases };
  }

  let rolloutStopped = false;
  // Whatever happens in the plays, the hosts' deploy locks go back (a throw would leave them to their TTL).
  try {
    for (const [index, play] of o.playbook.plays.entries()) {
      if (cancelled) break;
      const hosts = pick[index].filter((h) => live.has(h) && !failed.has(h));
      o.sink({ type: 'play-start', play: play.name ?? `play ${index + 1}`, index, hosts });
      // Each tag the play's services pull is one digest for all its hosts (a rollback pins image ids).
      if (!o.planFor) await pinDigests(hosts.flatMap((host) => (plans.has(`${index}/${host}`) ? [{ host, plan: plans.get(`${index}/${host}`)! }] : [])), (host, body) => live.get(host)!.agent.client.request(body).done);
      const rollout = (play as { rollout?: Rollout }).rollout;
      if (rollout && !o.check) {
        const outcome = await runRollout(index, hosts, rollout, { promote: o.promote === true }, { run: (name) => limit(() => runHostPlay(index, name)), revert: (name) => revertHost(index, name), sink: o.sink, cancelled: () => cancelled });
        if (outcome === 'halted' || outcome === 'reverted') rolloutStopped = true;
        if (outcome !== 'done') {
          // Later plays must not run on a fleet whose rollout did not complete.
          o.sink({ type: 'play-end', index });
          break;
        }
      } else {
        await Promise.all(hosts.map((name) => limit(() => runHostPlay(index, name))));
      }
      o.sink({ type: 'play-end', index });
    }
  } finally {
    o.signal.removeEventListener('abort', onAbort);
    // Instances this run registered reach the other embedded hosts' view now, not at the next apply.
    if (registry && !o.check && !cancelled) {
      const again = await syncRegistry(peers(), { push: true, inventory: inventoryHosts });
      // Said once per run: the warnings of the first sync were about the same hosts.
      const said = new Set(registry.warnings.map((w) => `${w.host} ${w.message}`));
      for (const w of again.warnings) if (!said.has(`${w.host} ${w.message}`)) o.sink({ type: 'warning', ...w });
    }
    await locks?.release();
  }
  await Promise.all([...live.values()].map((l) => closeHost(l)));
  if (blobs.served > 0 || relay) o.sink({ type: 'content', fromController: blobs.served, hostToHost: Math.max(0, relay?.relayedBytes ?? 0) });
  for (const r of Object.values(recap)) r.durationMs = Math.round(r.durationMs);
  o.sink({ type: 'recap', hosts: recap });
  const code = cancelled
    ? ExitCode.cancelled
    : rolloutStopped
      ? ExitCode.reverted
      : Object.values(recap).some((r) => r.failed > 0)
      ? ExitCode.failed
      : Object.values(recap).some((r) => r.unreachable)
        ? ExitCode.unreachable
        : ExitCode.ok;
  o.sink({ type: 'run-end', exitCode: code, durationMs: Math.round(performance.now() - t0) });
  return code;
}

/** Hosts of each play, narrowed by --limit. Patterns were checked before connecting. */
export function targets(o: Pick<ApplyOptions, 'playbook' | 'inventory' | 'limit'>): string[][] {
  const limited = o.limit ? matchPattern(o.limit, o.inventory) : undefined;
  const allowed = limited?.ok ? new Set(limited.hosts) : undefined;
  return o.playbook.plays.map((p) => {
    const m = matchPattern(p.hosts, o.inventory);
    return m.ok ? m.hosts.filter((h) => !allowed || allowed.has(h)) : [];
  });
}

/**
 * Everything about the input that can be checked before anything connects: host patterns and
 * the syntax of conditions. Errors point at the playbook line.
 */
export function preflight(o: Pick<ApplyOptions, 'playbook' | 'inventory' | 'limit' | 'where'>): BerthError[] {
  const errors: BerthError[] = [];
  o.playbook.plays.forEach((p, i) => {
    for (const key of ['tasks', 'handlers'] as const) {
      (p[key] ?? []).forEach((t, j) => {
        for (const f of checkConditions(t, ['plays', i, key, j])) errors.push({ code: f.code, message: f.message, where: o.where([...f.path]), hint: f.hint, exit: 2 });
      });
    }
  });
  const known = `known groups: ${[...o.inventory.groups.keys()].join(', ')}`;
  o.playbook.plays.forEach((p, i) => {
    const m = matchPattern(p.hosts, o.inventory);
    if (!m.ok) errors.push({ code: 'inventory.unknown-pattern', message: `hosts: "${p.hosts}" names no host or group of the inventory (${m.unknown.join(', ')})`, where: o.where(['plays', i, 'hosts']), hint: known, exit: 2 });
  });
  if (o.limit) {
    const m = matchPattern(o.limit, o.inventory);
    if (!m.ok) errors.push({ code: 'inventory.unknown-pattern', message: `--limit "${o.limit}" names no host or group of the inventory (${m.unknown.join(', ')})`, where: '--limit', hint: known, exit: 2 });
  }
  return errors;
}

async function closeHost(l: Live): Promise<void> {
  l.agent.client.bye();
  // Give the agent a moment to exit on its own before the connection goes.
  await new Promise((r) => setTimeout(r, 20));
  l.transport.close();
}
