// The controller's part of the registry, at apply time: ask every host for its report and, for
// hosts on the embedded backend, push the fleet view (every host's live registrations) so each
// host knows the others' instances. It runs on the controller but knows only the protocol: it is
// handed one `ask` function per host, whatever transport is behind it.
import type { RegistryReport, RegistryRequest, ServiceInstance, WireError } from '../../protocol/agent-protocol.js';
import { fleetServices } from '../../lang/discovery-helpers.js';

export interface RegistryPeer {
  host: string;
  ask(body: RegistryRequest): Promise<{ ok: true; result: unknown } | { ok: false; error: WireError }>;
}

export interface FleetRegistry {
  reports: Array<{ host: string; report?: RegistryReport; error?: WireError }>;
  /** Healthy registered instances by service: the `berth_services` templates read. */
  services: Record<string, ServiceInstance[]>;
  /** Hosts the fleet view was pushed to (embedded backend). */
  pushed: string[];
}

/**
 * `inventory`: every host name of the inventory. Hosts outside this run (`--limit`, a play for a
 * few hosts, a host unreachable now) keep the instances the freshest view held for them; hosts
 * no longer in the inventory are dropped from it.
 */
export async function syncRegistry(peers: RegistryPeer[], opts: { push?: boolean; now?: Date; inventory?: string[] } = {}): Promise<FleetRegistry> {
  const now = opts.now ?? new Date();
  const reports = await Promise.all(
    peers.map(async (p) => {
      const r = await p.ask({ method: 'registry.instances', params: {} });
      return r.ok ? { host: p.host, report: r.result as RegistryReport } : { host: p.host, error: r.error };
    }),
  );
  const ok = reports.flatMap((r) => (r.report ? [r.report] : []));
  // The view is what the embedded hosts registered themselves; hosts on etcd see each other live.
  // Only a host with a watcher reads the view (its ambassadors): the others are not written to.
  const embedded = reports.filter((r) => r.report?.backend === 'embedded');
  const readers = new Set(embedded.filter((r) => r.report!.watcher !== null).map((r) => r.host));
  const reported = new Set(embedded.map((r) => r.report!.host));
  const inInventory = opts.inventory ? new Set(opts.inventory) : undefined;
  const freshest = embedded.map((r) => r.report!.fleet).filter((v) => v !== undefined).sort((a, b) => b.gatheredAt.localeCompare(a.gatheredAt))[0];
  const unreached = (freshest?.instances ?? []).filter((i) => !reported.has(i.host) && (!inInventory || inInventory.has(i.host)));
  const instances = [...embedded.flatMap((r) => r.report!.local), ...unreached];
  const pushed: string[] = [];
  // Check mode only reads: a plan changes nothing on any host, the fleet view included.
  await Promise.all(
    peers
      .filter((p) => opts.push !== false && readers.has(p.host))
      .map(async (p) => {
        const r = await p.ask({ method: 'registry.fleet', params: { gatheredAt: now.toISOString(), instances } });
        if (r.ok) pushed.push(p.host);
      }),
  );
  // Templates see the same: the hosts of this run as they are now, the others as last known.
  return { reports, services: fleetServices(ok, unreached), pushed: pushed.sort() };
}
