// The controller's part of the registry, at apply time: ask every host for its report and, for
// hosts on the embedded backend, push the fleet view (every host's live registrations) so each
// host knows the others' instances. It runs on the controller but knows only the protocol: it is
// handed one `ask` function per host, whatever transport is behind it.
//
// A report is what a host says about itself, and a host may lie: it is believed only about that
// host's own instances, every entry is checked against the registry schema (an address with a
// newline in it would become a line of another host's haproxy.cfg), and what a host's fleet view
// says of hosts this run does not reach counts only for those hosts, never for the others.
import type { InstanceReport, RegistryReport, RegistryRequest, ServiceInstance, WireError } from '../../protocol/agent-protocol.js';
import { fleetServices } from '../../lang/discovery-helpers.js';
import { fieldProblem, instanceProblem, sortOutInstances } from '../../lang/registry-check.js';

export interface RegistryPeer {
  host: string;
  ask(body: RegistryRequest): Promise<{ ok: true; result: unknown } | { ok: false; error: WireError }>;
}

export interface RegistryWarning {
  host: string;
  code: string;
  message: string;
  hint: string;
}

export interface FleetRegistry {
  reports: Array<{ host: string; report?: RegistryReport; error?: WireError }>;
  /** Healthy registered instances by service: the `berth_services` templates read. */
  services: Record<string, ServiceInstance[]>;
  /** Hosts the fleet view was pushed to (embedded backend). */
  pushed: string[];
  /** Entries and reports that were not believed, each with the host that sent them. */
  warnings: RegistryWarning[];
}

/** A fleet view gathered later than this after the controller's own clock was forged, or taken on a host whose clock is off. */
const FUTURE_SLACK_MS = 5 * 60_000;

const show = (v: unknown) => JSON.stringify(v)?.slice(0, 80) ?? String(v);

/**
 * `inventory`: every host name of the inventory. Hosts outside this run (`--limit`, a play for a
 * few hosts, a host unreachable now) keep the instances the freshest view held for them; hosts
 * no longer in the inventory are dropped from it.
 */
export async function syncRegistry(peers: RegistryPeer[], opts: { push?: boolean; now?: Date; inventory?: string[] } = {}): Promise<FleetRegistry> {
  const now = opts.now ?? new Date();
  const warnings: RegistryWarning[] = [];
  const asked = await Promise.all(
    peers.map(async (p) => {
      const r = await p.ask({ method: 'registry.instances', params: {} });
      return r.ok ? { host: p.host, raw: r.result } : { host: p.host, error: r.error };
    }),
  );
  const inInventory = new Set(opts.inventory ?? peers.map((p) => p.host));
  const claims = new Map<string, number>();
  for (const a of asked) {
    const name = registryName(a.raw);
    if (name) claims.set(name, (claims.get(name) ?? 0) + 1);
  }
  const reports = asked.map((a): FleetRegistry['reports'][number] => {
    if (a.error) return { host: a.host, error: a.error };
    const report = believe(a.host, a.raw, { inInventory, claims, warn: (w) => warnings.push(w) });
    return report ? { host: a.host, report } : { host: a.host, error: { code: 'registry.report-refused', message: 'its registry report was not believed (see the warnings)' } };
  });
  const ok = reports.flatMap((r) => (r.report ? [r.report] : []));
  // The view is what the embedded hosts registered themselves; hosts on etcd see each other live.
  // Only a host with a watcher reads the view (its ambassadors): the others are not written to.
  const embedded = reports.filter((r) => r.report?.backend === 'embedded');
  const readers = new Set(embedded.filter((r) => r.report!.watcher !== null).map((r) => r.host));
  const reported = new Set(embedded.map((r) => r.report!.host));
  const unreached = lastKnown(embedded.flatMap((r) => (r.report!.fleet ? [{ from: r.host, view: r.report!.fleet }] : [])), { reported, inInventory: opts.inventory ? inInventory : undefined, now, warn: (w) => warnings.push(w) });
  const instances = [...embedded.flatMap((r) => r.report!.local), ...unreached.instances];
  const hosts = [...new Set([...reported, ...unreached.hosts])].sort();
  const pushed: string[] = [];
  // Check mode only reads: a plan changes nothing on any host, the fleet view included.
  await Promise.all(
    peers
      .filter((p) => opts.push !== false && readers.has(p.host))
      .map(async (p) => {
        const r = await p.ask({ method: 'registry.fleet', params: { gatheredAt: now.toISOString(), hosts, instances } });
        if (r.ok) pushed.push(p.host);
      }),
  );
  // Templates see the same: the hosts of this run as they are now, the others as last known.
  return { reports, services: fleetServices(ok, unreached.instances), pushed: pushed.sort(), warnings };
}

function registryName(raw: unknown): string | undefined {
  const h = (raw as { host?: unknown } | undefined)?.host;
  return typeof h === 'string' ? h : undefined;
}

/**
 * The part of a host's report that can be believed: its own instances, well formed. Undefined
 * when the report as a whole cannot be (no shape of a report, or the name of another host).
 */
function believe(peer: string, raw: unknown, ctx: { inInventory: Set<string>; claims: Map<string, number>; warn: (w: RegistryWarning) => void }): RegistryReport | undefined {
  const r = raw as Partial<RegistryReport> | undefined;
  const name = registryName(raw);
  if (!r || (r.backend !== 'embedded' && r.backend !== 'etcd') || !name || !Array.isArray(r.instances) || !Array.isArray(r.local)) {
    ctx.warn({ host: peer, code: 'registry.bad-report', message: `${peer} sent something that is not a registry report; it is ignored`, hint: 'is the agent on that host the one this controller pushed? run apply again to replace it' });
    return undefined;
  }
  const nameProblem = fieldProblem('host', name);
  // A host names itself in the registry (`registry: {host}`, its hostname by default), but never
  // as another host of the inventory, nor as a name another host of this run uses.
  const taken = name !== peer && ctx.inInventory.has(name) ? `${name} is another host of the inventory` : (ctx.claims.get(name) ?? 0) > 1 ? `another host of this run uses the name ${name} too` : undefined;
  // A host that registers nothing says nothing a name could make wrong (cloned machines that
  // share a hostname and never use the registry are not worth a warning on every run).
  const silent = r.instances.length === 0 && r.local.length === 0;
  if ((nameProblem || taken) && silent) return { backend: r.backend, host: peer, watcher: r.watcher ?? null, instances: [], local: [], ...(r.fleet !== undefined ? { fleet: r.fleet } : {}) };
  if (nameProblem || taken) {
    ctx.warn({ host: peer, code: 'registry.foreign-host', message: `${peer}'s registry report is ignored: ${taken ?? `its registry name ${nameProblem!.replace(/^host: /, '')}`}`, hint: `give each host its own registry name (registry: { host: "{{inventory_hostname}}" })` });
    return undefined;
  }
  // Entries of `list` that are this host's; the others are said to be forged and dropped.
  const own = (what: string, list: unknown[]): unknown[] => {
    const hostOf = (i: unknown) => (i as { host?: unknown } | null)?.host;
    const others = list.filter((i) => hostOf(i) !== name);
    if (others.length) {
      ctx.warn({ host: peer, code: 'registry.forged-instance', message: `${peer} reported ${others.length} ${what}${others.length > 1 ? 's' : ''} for other hosts (${[...new Set(others.map(hostOf))].map(show).join(', ')}); they are ignored: a host speaks only for its own instances`, hint: `is ${peer} compromised, or is its registry name (registry: { host }) not what the others know it by?` });
    }
    return list.filter((i) => hostOf(i) === name);
  };
  const malformed = (problems: string[]) =>
    ctx.warn({ host: peer, code: 'registry.bad-instance', message: `${peer} reported ${problems.length} malformed instance${problems.length > 1 ? 's' : ''}, ignored: ${problems.slice(0, 3).join('; ')}`, hint: `a registry entry holds names, an address and a port, never spaces or control characters; is ${peer} compromised?` });

  // Its live registrations (embedded backend): the fleet view other hosts route by.
  const local = sortOutInstances(own('registration', r.local));
  // What its watcher says of each instance: the registered healthy ones become berth_services.
  const ownReports = own('instance report', r.instances) as InstanceReport[];
  const badReports: string[] = [];
  const instances = ownReports.filter((i) => {
    if (!i.registered || i.health !== 'healthy') return typeof i.id === 'string' && typeof i.service === 'string';
    const problem = instanceProblem({ id: i.id, service: i.service, host: i.host, address: i.address, port: i.port, tags: i.tags, release: i.release, health: 'passing', registeredAt: i.registeredAt ?? '' });
    if (problem) badReports.push(`${show(i.id)}: ${problem}`);
    return !problem;
  });
  const problems = [...local.refused.map((x) => `${show((x.value as { id?: unknown })?.id)}: ${x.problem}`), ...badReports];
  if (problems.length) malformed(problems);
  return { backend: r.backend, host: name, watcher: r.watcher ?? null, instances, local: local.valid, ...(r.fleet !== undefined ? { fleet: r.fleet } : {}) };
}

/**
 * Instances of the hosts this run did not reach, from the fleet views the reached hosts hold.
 * Each such host's instances come from the freshest view that covers it: one host's view adds
 * what it knows of a host and replaces nothing the others know of the rest. A view dated in the
 * future (a forged or badly skewed clock, which would win every later run) counts for nothing.
 */
function lastKnown(
  views: Array<{ from: string; view: unknown }>,
  ctx: { reported: Set<string>; inInventory?: Set<string>; now: Date; warn: (w: RegistryWarning) => void },
): { instances: ServiceInstance[]; hosts: string[] } {
  const best = new Map<string, { at: number; instances: ServiceInstance[] }>();
  for (const { from, view } of views) {
    const v = view as { gatheredAt?: unknown; hosts?: unknown; instances?: unknown } | undefined;
    const at = typeof v?.gatheredAt === 'string' ? Date.parse(v.gatheredAt) : NaN;
    if (!Number.isFinite(at) || at > ctx.now.getTime() + FUTURE_SLACK_MS) {
      ctx.warn({ host: from, code: 'registry.bad-view', message: `${from}'s fleet view is dated ${show(v?.gatheredAt)}, ${Number.isFinite(at) ? 'in the future' : 'not a time'}; what it knows of other hosts is ignored`, hint: `is ${from}'s clock right? the next apply that reaches every host replaces the view` });
      continue;
    }
    const { valid, refused } = sortOutInstances(v?.instances);
    if (refused.length) ctx.warn({ host: from, code: 'registry.bad-instance', message: `${from}'s fleet view holds ${refused.length} malformed entr${refused.length > 1 ? 'ies' : 'y'}, ignored: ${refused.slice(0, 3).map((x) => x.problem).join('; ')}`, hint: `is ${from} compromised? the next apply that reaches every host replaces its view` });
    // Views written before views listed their hosts cover the hosts they hold instances of.
    const covered = Array.isArray(v?.hosts) ? (v!.hosts as unknown[]).filter((h): h is string => typeof h === 'string') : valid.map((i) => i.host);
    for (const host of new Set(covered)) {
      if (ctx.reported.has(host) || (ctx.inInventory && !ctx.inInventory.has(host))) continue;
      const prev = best.get(host);
      if (!prev || at > prev.at) best.set(host, { at, instances: valid.filter((i) => i.host === host) });
    }
  }
  return { instances: [...best.values()].flatMap((b) => b.instances), hosts: [...best.keys()] };
}
