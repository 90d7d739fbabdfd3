// The checks `docker compose` makes on a file before it runs anything, made here too: every
// name a service uses (a dependency, a volume, a network, a service whose namespace it joins)
// is declared, and no service asks for two things that cannot both hold.
import type { DocPath } from '../load/path.js';
import type { Finding } from '../load/problems.js';
import { asList, asRecord } from '../load/shape.js';
import { didYouMean, shortList } from '../load/suggest.js';

interface Declared {
  services: Record<string, Record<string, unknown>>;
  networks: Record<string, { external?: unknown }>;
  volumes: Record<string, unknown>;
  /** What the play itself declares, beside the file. */
  play?: { services: string[]; networks: string[]; volumes: string[] };
}

export function composeChecks(d: Declared): Finding[] {
  const found: Finding[] = [];
  const services = new Set([...Object.keys(d.services), ...(d.play?.services ?? [])]);
  const networks = new Set([...Object.keys(d.networks), ...(d.play?.networks ?? []), 'default']);
  const volumes = new Set([...Object.keys(d.volumes), ...(d.play?.volumes ?? [])]);
  const known = (kind: string, names: Set<string>, name: string, exclude?: string) => {
    const others = [...names].filter((n) => n !== exclude && n !== 'default');
    return didYouMean(name, others) ?? (others.length ? `${kind} of this file: ${shortList(others)}` : undefined);
  };

  for (const [name, svc] of Object.entries(d.services)) {
    const at: DocPath = ['services', name];
    const what = `service ${JSON.stringify(name)}`;

    // compose-go: "service has neither an image nor a build context specified".
    if (svc.image === undefined && svc.build === undefined) {
      found.push({ code: 'compose.no-image', message: `${what} has neither an image nor a build`, path: at, key: true, hint: 'add image: NAME (pulled from a registry) or build: ./DIR (a folder with a Dockerfile, beside the Compose file)' });
    }

    for (const dep of dependsOn(svc)) {
      const path: DocPath = [...at, ...dep.path];
      if (dep.name === name) found.push({ code: 'compose.self-dependency', message: `${what} depends on itself`, path, key: dep.key, hint: 'remove it: a service cannot wait for itself' });
      else if (!services.has(dep.name) && dep.required) {
        found.push({
          code: 'compose.unknown-dependency',
          message: `${what} depends on ${JSON.stringify(dep.name)}, which is not a service of this file`,
          path,
          key: dep.key,
          hint: known('services', services, dep.name, name) ?? 'declare that service, or remove the dependency (required: false makes it optional)',
        });
      }
    }

    asList(svc.volumes).forEach((v, i) => {
      const source = namedVolume(v);
      if (source === undefined || volumes.has(source)) return;
      found.push({
        code: 'compose.undeclared-volume',
        message: `${what} mounts the volume ${JSON.stringify(source)}, which the file does not declare`,
        path: [...at, 'volumes', i],
        hint: `declare it at the top level: volumes: { ${source}: {} } (a host path starts with / or ./)${didYouMean(source, volumes) ? `; ${didYouMean(source, volumes)}` : ''}`,
      });
    });

    const nets = svc.networks;
    const attached = Array.isArray(nets) ? nets.map((n, i) => ({ net: String(n), path: [...at, 'networks', i] as DocPath, opts: {} as Record<string, unknown> })) : Object.entries(asRecord(nets)).map(([n, o]) => ({ net: n, path: [...at, 'networks', n] as DocPath, opts: asRecord(o) }));
    for (const a of attached) {
      if (!networks.has(a.net)) {
        found.push({ code: 'compose.undeclared-network', message: `${what} joins the network ${JSON.stringify(a.net)}, which the file does not declare`, path: a.path, key: !Array.isArray(nets), hint: `declare it at the top level: networks: { ${a.net}: {} }${didYouMean(a.net, networks) ? `; ${didYouMean(a.net, networks)}` : ''}` });
        continue;
      }
      for (const key of ['ipv4_address', 'ipv6_address'] as const) {
        if (a.opts[key] === undefined || d.networks[a.net]?.external === true) continue;
        found.push({
          code: 'compose.fixed-address',
          message: `${what}: ${key} on the network ${JSON.stringify(a.net)}, which berth creates without a fixed subnet`,
          path: [...a.path, key],
          key: true,
          hint: `a fixed address needs a network with a subnet: create it outside berth (docker network create --subnet ...) and declare it with external: true, or remove ${key} and reach the service by its name`,
        });
      }
    }
    if (nets !== undefined && svc.network_mode !== undefined) {
      found.push({ code: 'compose.network-mode', message: `${what} has both networks and network_mode, which exclude each other`, path: [...at, 'network_mode'], key: true, hint: 'keep networks: to join networks, or network_mode: to share a namespace (host, none, service:NAME)' });
    }

    const replicas = asRecord(svc.deploy).replicas;
    if (svc.container_name !== undefined && typeof replicas === 'number' && replicas > 1) {
      found.push({ code: 'compose.container-name', message: `${what} sets container_name but runs ${replicas} replicas`, path: [...at, 'container_name'], key: true, hint: 'a container name is unique on a host: remove container_name and let berth name the replicas' });
    }

    const ref = (target: string, path: DocPath, key: string) => {
      if (target === name) found.push({ code: 'compose.self-reference', message: `${what} cannot take ${key} from itself`, path });
      else if (!services.has(target)) found.push({ code: 'compose.unknown-reference', message: `${what}: ${key} names ${JSON.stringify(target)}, which is not a service of this file`, path, hint: known('services', services, target, name) });
    };
    for (const key of ['network_mode', 'pid', 'ipc'] as const) {
      const v = svc[key];
      if (typeof v === 'string' && v.startsWith('service:')) ref(v.slice('service:'.length), [...at, key], key);
    }
    asList(svc.volumes_from).forEach((v, i) => {
      if (typeof v === 'string' && !v.startsWith('container:')) ref(v.replace(/:(ro|rw)$/, ''), [...at, 'volumes_from', i], 'volumes_from');
    });
  }
  found.push(...cycles(d.services));
  return found;
}

function dependsOn(svc: Record<string, unknown>): Array<{ name: string; path: DocPath; key: boolean; required: boolean }> {
  const d = svc.depends_on;
  if (Array.isArray(d)) return d.flatMap((n, i) => (typeof n === 'string' ? [{ name: n, path: ['depends_on', i], key: false, required: true }] : []));
  return Object.entries(asRecord(d)).map(([n, o]) => ({ name: n, path: ['depends_on', n], key: true, required: asRecord(o).required !== false }));
}

/** The volume name a mount uses, if it uses a named volume (not a host path, not anonymous). */
function namedVolume(v: unknown): string | undefined {
  if (typeof v === 'string') {
    const parts = v.split(':');
    if (parts.length < 2 || (parts.length === 2 && !parts[1].startsWith('/'))) return undefined;
    const source = parts[0];
    return source === '' || /^[/.~]/.test(source) ? undefined : source;
  }
  const m = asRecord(v);
  return (m.type === 'volume' || m.type === undefined) && typeof m.source === 'string' && m.source !== '' ? m.source : undefined;
}

function cycles(services: Record<string, Record<string, unknown>>): Finding[] {
  const found: Finding[] = [];
  const state = new Map<string, 'open' | 'done'>();
  const trail: string[] = [];
  const visit = (name: string) => {
    state.set(name, 'open');
    trail.push(name);
    for (const dep of dependsOn(services[name])) {
      if (dep.name === name || !(dep.name in services)) continue;
      if (state.get(dep.name) === 'open') {
        const loop = [...trail.slice(trail.indexOf(dep.name)), dep.name];
        found.push({ code: 'compose.dependency-cycle', message: `services depend on each other in a cycle: ${loop.join(' -> ')}`, path: ['services', name, ...dep.path], key: dep.key, hint: 'one of them has to start first: remove one depends_on' });
      } else if (!state.has(dep.name)) visit(dep.name);
    }
    trail.pop();
    state.set(name, 'done');
  };
  for (const name of Object.keys(services)) if (!state.has(name)) visit(name);
  return found;
}
