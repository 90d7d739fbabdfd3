// One run of a playbook: connect every targeted host in parallel and start its agent, then for
// each play render every host's whole plan and send it in one request. Plays are barriers (play
// 2 starts when play 1 ended on every host), hosts within a play never wait for each other. A
// host that cannot be reached or fails drops out; the others go on.
import pLimit from 'p-limit';
import type { HostPlan, RunResult, WireError } from '../../protocol/agent-protocol.js';
import { maskSecrets } from '../../protocol/agent-protocol.js';
import { fromWire, startAgent, type AgentStart } from '../agent/start-agent.js';
import { ExitCode, type BerthError, type Result } from '../errors.js';
import { matchPattern } from '../inventory/pattern.js';
import type { ResolvedHost, ResolvedInventory } from '../inventory/resolve.js';
import type { HostTransport } from '../transport.js';
import type { EventSink, HostRecap } from './events.js';
import { BlobRegistry } from '../blobs.js';
import { checkExpression } from '../../lang/expressions.js';
import { buildPlan } from './build-plan.js';
import type { PlaybookShape } from './playbook-shape.js';
import type { TagFilter } from './tags.js';

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
}

interface Live {
  host: ResolvedHost;
  transport: HostTransport;
  agent: AgentStart;
}

export async function applyPlaybook(opts: ApplyOptions): Promise<number> {
  const t0 = performance.now();
  const secretVars = opts.secretVars ?? {};
  const secrets = Object.values(secretVars).filter((v): v is string => typeof v === 'string' && v.length > 0);
  // Every event passes through the mask before any reporter sees it.
  const o: ApplyOptions = { ...opts, sink: secrets.length ? (e) => opts.sink(maskEvent(e, secrets)) : opts.sink };
  const pick = targets(o);
  const recap: Record<string, HostRecap> = {};
  const all = [...new Set(pick.flat())];
  for (const h of all) recap[h] = { ok: 0, changed: 0, failed: 0, skipped: 0, unreachable: false, durationMs: 0 };
  o.sink({ type: 'run-start', playbook: o.playbookPath, hosts: all, check: o.check });

  const limit = pLimit(o.forks);
  const blobs = new BlobRegistry();
  const live = new Map<string, Live>();
  const lost = new Set<string>();
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

  // Every host's plan for every play is rendered before the first task runs: a template error
  // (a variable missing for one host) is bad input, and bad input changes nothing anywhere.
  const plans = new Map<string, HostPlan>();
  const planErrors: Array<{ host: string; error: BerthError }> = [];
  o.playbook.plays.forEach((_, index) => {
    for (const name of pick[index]) {
      const l = live.get(name);
      if (!l) continue;
      const plan = buildPlan({ ...o, secrets, secretVars, tags: o.tags ?? { only: [], skip: [] } }, index, l.host, l.agent.hello.facts, blobs);
      if (plan.ok) plans.set(`${index}/${name}`, plan.value);
      else planErrors.push({ host: name, error: plan.error });
    }
  });
  if (planErrors.length) {
    for (const { host, error } of planErrors) o.sink({ type: 'host-failed', host, error });
    await Promise.all([...live.values()].map((l) => closeHost(l)));
    o.sink({ type: 'run-end', exitCode: ExitCode.badInput, durationMs: Math.round(performance.now() - t0) });
    return ExitCode.badInput;
  }

  for (const [index, play] of o.playbook.plays.entries()) {
    if (cancelled) break;
    const hosts = pick[index].filter((h) => live.has(h) && !failed.has(h));
    o.sink({ type: 'play-start', play: play.name ?? `play ${index + 1}`, index, hosts });
    await Promise.all(
      hosts.map((name) =>
        limit(async () => {
          const l = live.get(name)!;
          const began = performance.now();
          const plan = plans.get(`${index}/${name}`)!;
          const names = new Map([...plan.tasks, ...plan.handlers].map((t) => [t.index, t]));
          const req = l.agent.client.request({ method: 'run', params: plan }, (e) => {
            const t = names.get(e.kind === 'progress' ? -1 : e.task);
            if (e.kind === 'task-start') o.sink({ type: 'task-start', host: name, play: index, task: e.task, name: e.name, module: e.module, handler: e.handler });
            else if (e.kind === 'task-end' && t) o.sink({ type: 'task-end', host: name, play: index, task: e.task, name: t.name, module: t.module, status: e.status, changes: e.changes, message: e.message, durationMs: e.durationMs, handler: e.handler });
            else if (e.kind === 'output') o.sink({ type: 'output', host: name, task: e.task, stream: e.stream, line: e.line });
            else if (e.kind === 'progress') o.sink({ type: 'progress', host: name, task: e.task, label: e.label, done: e.done, total: e.total });
          });
          if (cancelled) l.agent.client.cancel(req.id);
          const res = await req.done;
          recap[name].durationMs += performance.now() - began;
          if (!res.ok) {
            failed.add(name);
            if (res.error.code !== 'agent.connection-lost') recap[name].failed += 1;
            return hostLost(name, res.error);
          }
          const r = res.result as RunResult;
          for (const k of ['ok', 'changed', 'failed', 'skipped'] as const) recap[name][k] += r[k];
          if (r.failed > 0) failed.add(name);
        }),
      ),
    );
    o.sink({ type: 'play-end', index });
  }
  o.signal.removeEventListener('abort', onAbort);

  await Promise.all([...live.values()].map((l) => closeHost(l)));
  for (const r of Object.values(recap)) r.durationMs = Math.round(r.durationMs);
  o.sink({ type: 'recap', hosts: recap });
  const code = cancelled
    ? ExitCode.cancelled
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
        for (const cond of ['when', 'changed_when', 'failed_when'] as const) {
          const expr = t[cond];
          if (typeof expr !== 'string') continue;
          const problem = checkExpression(expr);
          if (problem) errors.push({ code: 'task.expression', message: `${cond}: ${problem}`, where: o.where(['plays', i, key, j, cond]), hint: 'conditions are expressions such as `result.rc == 0 and "web" in group_names`', exit: 2 });
        }
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

function maskEvent<T>(e: T, secrets: string[]): T {
  return JSON.parse(maskSecrets(JSON.stringify(e), secrets.map((s) => JSON.stringify(s).slice(1, -1)))) as T;
}

async function closeHost(l: Live): Promise<void> {
  l.agent.client.bye();
  // Give the agent a moment to exit on its own before the connection goes.
  await new Promise((r) => setTimeout(r, 20));
  l.transport.close();
}
