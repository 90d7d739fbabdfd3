// Reaching the fleet outside of a playbook run, for `berth ps`, `logs`, `exec` and `run`: the
// inventory (from -i, or the playbook's `inventory:`), --limit, then an agent on each host over
// the same pooled SSH sessions `apply` uses. A host that cannot be reached is reported and the
// others go on.
import pLimit from 'p-limit';
import { fromWire, startAgent } from '../agent/start-agent.js';
import type { AgentClient } from '../agent/agent-client.js';
import { badInput, err, ok, type BerthError, type Result } from '../errors.js';
import { matchPattern } from '../inventory/pattern.js';
import { resolveInventory, type ResolvedHost, type ResolvedInventory } from '../inventory/resolve.js';
import { inventorySource, type InventoryRef } from '../inventory/source.js';
import { loadForRun, loadInventoryForRun, type LoadedForRun } from '../run/load-for-run.js';
import { hostTarget } from '../inventory/host-target.js';
import { createSshPool } from '../ssh/index.js';
import { projectName } from './project.js';
import type { HostTransport } from '../transport.js';

export interface FleetFlags {
  playbook?: string;
  inventory?: string;
  limit?: string;
  forks?: string;
  acceptNewHostKeys?: boolean;
}

export interface Fleet {
  inventory: ResolvedInventory;
  /** Hosts to talk to, after --limit. */
  hosts: string[];
  /** The playbook, when one was given: its project name scopes every request. */
  playbook?: LoadedForRun;
  project?: string;
  forks: number;
  /** Opens a transport to a host instead of SSH (library callers, tests: a local or hostile host). */
  connect?: (host: ResolvedHost) => Promise<Result<HostTransport>>;
}

export function resolveFleet(flags: FleetFlags): Result<Fleet, BerthError[]> {
  const forks = Number(flags.forks ?? '50');
  if (!Number.isInteger(forks) || forks < 1) return err([badInput('flags.forks', `--forks must be a whole number of 1 or more, not "${flags.forks}"`, '--forks')]);
  let playbook: LoadedForRun | undefined;
  if (flags.playbook) {
    const loaded = loadForRun(flags.playbook);
    if (!loaded.ok) return loaded;
    playbook = loaded.value;
  } else if (!flags.inventory) {
    return err([badInput('fleet.no-inventory', 'which hosts? give a playbook (-p) or an inventory (-i)', undefined, 'for example: berth ps -p playbooks/demo.yml')]);
  }
  const inv = inventorySource(playbook?.doc.inventory as InventoryRef | undefined, {
    playbookPath: playbook?.path ?? process.cwd() + '/-',
    playbookName: playbook?.doc.name,
    override: flags.inventory,
    where: flags.inventory ? '-i' : (playbook?.where(['inventory']) ?? '-p'),
    loadFile: loadInventoryForRun,
  });
  if (!inv.ok) return inv;
  const inventory = resolveInventory(inv.value.doc, inv.value.source);
  let hosts = [...inventory.byName.keys()];
  if (flags.limit) {
    const m = matchPattern(flags.limit, inventory);
    if (!m.ok) return err([badInput('inventory.unknown-pattern', `--limit "${flags.limit}" names no host or group of the inventory (${m.unknown.join(', ')})`, '--limit')]);
    hosts = m.hosts;
  }
  const project = playbook ? projectName(playbook.doc.name, playbook.path) : undefined;
  return ok({ inventory, hosts, playbook, project, forks });
}

export type HostOutcome<T> = { host: string; ok: true; value: T } | { host: string; ok: false; error: BerthError };

/**
 * Runs `fn` against an agent on each host (at most `forks` at once) and returns every host's
 * outcome, in inventory order. `signal` cancels the requests in flight (Ctrl-C on `logs -f`).
 */
export async function onHosts<T>(
  fleet: Fleet,
  hosts: string[],
  fn: (host: ResolvedHost, agent: AgentClient) => Promise<Result<T>>,
  opts: { acceptNewHostKeys?: boolean; signal?: AbortSignal } = {},
): Promise<Array<HostOutcome<T>>> {
  const pool = createSshPool({ acceptNewHostKeys: opts.acceptNewHostKeys ? true : undefined });
  const limit = pLimit(fleet.forks);
  const agents: AgentClient[] = [];
  const onAbort = () => agents.forEach((a) => a.cancelAll());
  opts.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    return await Promise.all(
      hosts.map((name) =>
        limit(async (): Promise<HostOutcome<T>> => {
          const host = fleet.inventory.byName.get(name)!;
          const target = fleet.connect ? undefined : hostTarget(fleet.inventory, host);
          if (target && !target.ok) return { host: name, ok: false, error: target.error };
          const session = fleet.connect ? await fleet.connect(host) : await pool.get(target!.value);
          if (!session.ok) return { host: name, ok: false, error: session.error };
          const agent = await startAgent(session.value, { become: host.connection.become === true, host: name });
          if (!agent.ok) return { host: name, ok: false, error: agent.error };
          agents.push(agent.value.client);
          try {
            const r = await fn(host, agent.value.client);
            return r.ok ? { host: name, ok: true, value: r.value } : { host: name, ok: false, error: r.error };
          } finally {
            agent.value.client.bye();
          }
        }),
      ),
    );
  } finally {
    opts.signal?.removeEventListener('abort', onAbort);
    // Give agents a moment to leave on their own before their connections go.
    await new Promise((r) => setTimeout(r, 20));
    pool.closeAll();
  }
}

/** A request's answer as a Result, its wire error placed at the host. */
export async function ask<T>(agent: AgentClient, host: string, req: Parameters<AgentClient['request']>[0], onEvent?: Parameters<AgentClient['request']>[1]): Promise<Result<T>> {
  const res = await agent.request(req, onEvent).done;
  return res.ok ? ok(res.result as T) : err(fromWire(res.error, host));
}
