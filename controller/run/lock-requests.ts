// `berth lock status` and `berth lock release --force`, without their presentation: every targeted
// host's deploy lock, and with a playbook whose hosts register in etcd, its fleet lock (asked of
// the first host that answers that it has etcd: any such host reaches the same key).
import type { LockAnswer, LockRequest } from '../../protocol/agent-protocol.js';
import type { AgentClient } from '../agent/agent-client.js';
import type { Result } from '../errors.js';
import { ask, onHosts, type Fleet, type HostOutcome } from '../services/fleet.js';

export interface LockReport {
  hosts: Array<HostOutcome<LockAnswer>>;
  /** The playbook's fleet lock (with -p, where a host has an etcd registry). */
  fleet?: { host: string } & Result<LockAnswer>;
}

async function gather(fleet: Fleet, req: (fleetName?: string) => LockRequest, opts: { acceptNewHostKeys?: boolean }): Promise<LockReport> {
  let fleetAsk: Promise<LockReport['fleet']> | undefined;
  const hosts = await onHosts(
    fleet,
    fleet.hosts,
    async (host, agent: AgentClient) => {
      const r = await ask<LockAnswer>(agent, host.name, req());
      if (r.ok && r.value.etcd && fleet.project && !fleetAsk) {
        const name = fleet.project;
        fleetAsk = ask<LockAnswer>(agent, host.name, req(name)).then((f) => ({ host: host.name, ...f }));
        // The agent stays up until its fleet answer is in.
        await fleetAsk;
      }
      return r;
    },
    opts,
  );
  return { hosts, fleet: await fleetAsk };
}

export function lockStatus(fleet: Fleet, opts: { acceptNewHostKeys?: boolean }): Promise<LockReport> {
  return gather(fleet, (f) => ({ method: 'lock.status', params: f ? { fleet: f } : {} }), opts);
}

/** Removes every targeted host's lock whoever holds it, and the playbook's fleet lock. */
export function forceRelease(fleet: Fleet, opts: { acceptNewHostKeys?: boolean }): Promise<LockReport> {
  return gather(fleet, (f) => ({ method: 'lock.release', params: { force: true, ...(f ? { fleet: f } : {}) } }), opts);
}
