// The registry's protocol requests: what `berth services` asks each host, and the fleet view
// the controller pushes to hosts of the embedded backend.
import type { RegistryReport, RegistryRequest, WireError } from '../../protocol/agent-protocol.js';
import { agentSha } from '../watcher/self.js';
import { liveWatcher } from '../watcher/pidfile.js';
import { localEntries, readFleetView, writeFleetView } from './embedded.js';
import { readHostConfig } from './host-config.js';
import { listInstances, listStatuses } from './instance-files.js';

export type Served = { ok: true; result: unknown } | { ok: false; error: WireError };

export async function serveRegistryRequest(body: RegistryRequest): Promise<Served> {
  switch (body.method) {
    case 'registry.instances':
      return { ok: true, result: report(body.params?.service) };
    case 'registry.fleet':
      writeFleetView(body.params);
      return { ok: true, result: { instances: body.params.instances.length } };
  }
}

export function report(service?: string): RegistryReport {
  const config = readHostConfig();
  const w = liveWatcher();
  const statuses = new Map(listStatuses().map((s) => [s.id, s]));
  // Every instance the host should have registered, with the watcher's word on it when it has one.
  const instances = listInstances()
    .filter((f) => service === undefined || f.service === service)
    .map((f) => {
      const s = statuses.get(f.id);
      const { containerId: _c, updatedAt: _u, registration: _r, ...rest } = s ?? { containerId: '', updatedAt: '' };
      return s && s.containerId === f.containerId
        ? (rest as RegistryReport['instances'][number])
        : { id: f.id, service: f.service, host: config.host, container: f.container, release: f.release, tags: f.tags, health: 'starting' as const, registered: false, lastOutput: 'not checked yet', failures: 0, restarts: 0, backend: config.backend.kind };
    });
  return {
    backend: config.backend.kind,
    host: config.host,
    watcher: w ? { pid: w.pid, agentSha256: w.sha, current: w.sha === agentSha() } : null,
    instances,
    local: config.backend.kind === 'embedded' ? localEntries().filter((i) => service === undefined || i.service === service) : [],
    ...(config.backend.kind === 'embedded' && service === undefined ? { fleet: readFleetView() } : {}),
  };
}
