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

export async function syncRegistry(peers: RegistryPeer[], opts: { push?: boolean; now?: Date } = {}): Promise<FleetRegistry> {
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
  const instances = embedded.flatMap((r) => r.report!.local);
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
  return { reports, services: fleetServices(ok), pushed: pushed.sort() };
}
