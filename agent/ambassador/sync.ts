// Keeps one ambassador's haproxy.cfg equal to what the registry says: watch every service it
// routes to, re-render on any change, reload when the text changed. Runs in the watcher (so
// routing follows the registry between applies) and once in the `ambassador` module (so the
// ambassador routes as soon as apply has started it).
import type Docker from 'dockerode';
import type { Instance, Registry } from '../registry/types.js';
import { applyConfig } from './reload.js';
import { renderHaproxy } from './render.js';
import type { AmbassadorSpec } from './spec.js';

export interface AmbassadorSync {
  spec: AmbassadorSpec;
  stop(): void;
}

export function startAmbassadorSync(spec: AmbassadorSpec, registry: Registry, docker: Docker, log: (l: string) => void): AmbassadorSync {
  const services = [...new Set(spec.listeners.map((l) => l.service))];
  const lists = new Map<string, Instance[]>();
  let pending: NodeJS.Timeout | undefined;
  let applying = Promise.resolve();
  const render = () => {
    // Only once every service has reported at least once: a half-known view would route nowhere.
    if (lists.size < services.length) return;
    const rendered = renderHaproxy(spec, lists);
    if (!rendered.ok) return log(`ambassador ${spec.name}: ${rendered.message}; haproxy keeps its current config`);
    for (const d of rendered.dropped) log(`ambassador ${spec.name}: instance ${d.instance} is not routed to: ${d.problem}`);
    const text = rendered.text;
    applying = applying.then(async () => {
      const r = await applyConfig(docker, spec.name, text, { reload: true });
      if (!r.ok) log(`ambassador ${spec.name}: ${r.message}${r.detail ? `\n${r.detail}` : ''}`);
      else if (r.changed) {
        const again = r.signals === 0 ? '; haproxy forked no new worker, it may still run the old config' : r.signals && r.signals > 1 ? `; haproxy lost ${r.signals - 1} reload signal${r.signals > 2 ? 's' : ''}, sent again` : '';
        log(`ambassador ${spec.name}: reloaded (${services.map((s) => `${s}: ${lists.get(s)?.length ?? 0}`).join(', ')})${again}`);
      }
    });
  };
  const stops = services.map((s) =>
    registry.watch(s, (list) => {
      lists.set(s, list);
      // Changes arrive in bursts (a batch of instances); one reload for the burst.
      clearTimeout(pending);
      pending = setTimeout(render, 10);
    }),
  );
  return {
    spec,
    stop: () => {
      clearTimeout(pending);
      for (const s of stops) s();
    },
  };
}

/** The config from the registry as it is now, for the module to write before the container starts. */
export async function renderFromRegistry(spec: AmbassadorSpec, registry: Registry): Promise<{ ok: true; text: string; counts: Record<string, number> } | { ok: false; message: string }> {
  const lists = new Map<string, Instance[]>();
  for (const s of new Set(spec.listeners.map((l) => l.service))) {
    const r = await registry.list(s);
    if (!r.ok) return { ok: false, message: r.error.message };
    lists.set(s, r.value);
  }
  const rendered = renderHaproxy(spec, lists);
  if (!rendered.ok) return rendered;
  return { ok: true, text: rendered.text, counts: Object.fromEntries([...lists].map(([k, v]) => [k, v.length])) };
}
