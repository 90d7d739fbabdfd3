// Template helpers for discovery: the healthy instances of a service, for writing any config
// file that must list them (an nginx upstream, an app's peer list):
//
//   {{#each (service_instances "web" tag="v2")}}server {{address}}:{{port}};{{/each}}
//   peers={{join (service_addresses "db") ","}}
//
// They read the variable `berth_services` (service name -> instances), which the controller fills
// from every host's registry at the start of a run (fleetServices below, from `registry.instances`
// reports), so a template sees the fleet as it was when the run began.
import type Handlebars from 'handlebars';
import type { RegistryReport, ServiceInstance } from '../protocol/agent-protocol.js';

export const SERVICES_VAR = 'berth_services';

type Hbs = typeof Handlebars;
interface Options {
  name: string;
  hash: Record<string, unknown>;
  data?: { root?: Record<string, unknown> };
  loc?: { start: { line: number; column: number } };
}

/** The map templates read, from each host's report: its registered, healthy instances (plus `lastKnown`). */
export function fleetServices(reports: RegistryReport[], lastKnown: ServiceInstance[] = []): Record<string, ServiceInstance[]> {
  const out: Record<string, ServiceInstance[]> = {};
  // Instances of hosts the run did not reach, as the freshest fleet view had them (registry-sync.ts).
  for (const i of lastKnown) (out[i.service] ??= []).push(i);
  for (const r of reports) {
    for (const i of r.instances) {
      if (!i.registered || i.health !== 'healthy' || !i.address || i.port === undefined) continue;
      (out[i.service] ??= []).push({
        id: i.id,
        service: i.service,
        host: i.host,
        address: i.address,
        port: i.port,
        tags: i.tags,
        release: i.release,
        health: 'passing',
        registeredAt: i.registeredAt ?? '',
      });
    }
  }
  for (const list of Object.values(out)) list.sort((a, b) => a.host.localeCompare(b.host) || a.id.localeCompare(b.id));
  return out;
}

/** Instances of `service` from a `berth_services` value, healthy ones carrying every tag asked for. */
export function selectInstances(services: unknown, service: string, hash: Record<string, unknown> = {}): ServiceInstance[] {
  const all = (services && typeof services === 'object' ? (services as Record<string, ServiceInstance[]>)[service] : undefined) ?? [];
  const tags = [...(typeof hash.tag === 'string' ? [hash.tag] : []), ...(Array.isArray(hash.tags) ? hash.tags.map(String) : [])];
  return all.filter((i) => (hash.all === true || i.health === 'passing') && tags.every((t) => i.tags.includes(t)) && (typeof hash.host !== 'string' || i.host === hash.host));
}

export function registerDiscoveryHelpers(hbs: Hbs): void {
  const fail = (o: Options, message: string): never => {
    throw new hbs.Exception(`${o.name}: ${message}`, (o.loc ? { loc: o.loc } : undefined) as ConstructorParameters<Hbs['Exception']>[1]);
  };
  const instances = (args: unknown[], o: Options): ServiceInstance[] => {
    const [service] = args;
    if (typeof service !== 'string' || service === '') return fail(o, 'expected a service name, e.g. (service_instances "web")');
    const root = o.data?.root ?? {};
    if (!(SERVICES_VAR in root)) return fail(o, `the registry is not known here (no ${SERVICES_VAR}): discovery helpers work in templates berth renders during a run`);
    return selectInstances(root[SERVICES_VAR], service, o.hash);
  };
  const h = (name: string, fn: (args: unknown[], o: Options) => unknown) =>
    hbs.registerHelper(name, function (this: unknown, ...all: unknown[]) {
      const o = all.pop() as Options;
      return fn(all, o);
    });
  h('service_instances', (args, o) => instances(args, o));
  h('service_addresses', (args, o) => instances(args, o).map((i) => `${i.address.includes(':') ? `[${i.address}]` : i.address}:${i.port}`));
  h('service_hosts', (args, o) => [...new Set(instances(args, o).map((i) => i.host))]);
}
