// `links:` as they work on a user network: `links: ["db", "db:database"]` makes db start first
// and answer to "database" on its networks.
import type { DocPath } from '../load/path.js';
import type { Finding } from '../load/problems.js';
import { didYouMean } from '../load/suggest.js';

export function applyLinks(services: Record<string, Record<string, unknown>>): Finding[] {
  const problems: Finding[] = [];
  for (const [name, svc] of Object.entries(services)) {
    const links = svc.links;
    delete svc.links;
    if (links === undefined) continue;
    const at: DocPath = ['services', name, 'links'];
    if (!Array.isArray(links)) {
      problems.push({ code: 'compose.invalid', message: `links of service ${JSON.stringify(name)} must be a list`, path: at, hint: 'links: ["db", "db:database"]' });
      continue;
    }
    links.forEach((l, i) => {
      const [target, alias] = String(l).split(':');
      const other = services[target];
      if (!other) {
        problems.push({ code: 'compose.unknown-link', message: `service ${JSON.stringify(name)} links to ${JSON.stringify(target)}, which is not a service of this file`, path: [...at, i], hint: didYouMean(target, Object.keys(services)) ?? 'link only to services of this file; to reach another container, join a network it is on (networks:) and use its name' });
        return;
      }
      const deps = svc.depends_on;
      if (deps === undefined) svc.depends_on = [target];
      else if (Array.isArray(deps)) svc.depends_on = [...new Set([...deps, target])];
      else if (typeof deps === 'object' && deps !== null && !(target in deps)) svc.depends_on = { ...deps, [target]: { condition: 'service_started' } };
      if (alias && alias !== target) {
        const nets = other.networks;
        const asMapForm = nets === undefined ? { default: {} } : Array.isArray(nets) ? Object.fromEntries(nets.map((n) => [n, {}])) : { ...(nets as Record<string, unknown>) };
        for (const [net, opts] of Object.entries(asMapForm)) {
          const o = (opts ?? {}) as { aliases?: string[] };
          asMapForm[net] = { ...o, aliases: [...new Set([...(o.aliases ?? []), alias])] };
        }
        other.networks = asMapForm;
      }
    });
  }
  return problems;
}
