// `berth releases` on one host: each service's history, and whether the images of each release
// are still here (a rollback boots only a release whose images every targeted host still has).
import { readdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type Docker from 'dockerode';
import type { ServiceReleases } from '../../protocol/agent-protocol.js';
import { historyPath, readHistory, secretNames } from './releases.js';

export async function releaseReport(docker: Docker, playbook: string, service?: string): Promise<ServiceReleases[]> {
  const names = service !== undefined ? [service] : servicesWithHistory(playbook);
  const out: ServiceReleases[] = [];
  for (const name of names) {
    const h = readHistory(playbook, name);
    if (h.releases.length === 0 && service === undefined) continue;
    const releases = [];
    for (const r of h.releases) {
      let present = true;
      for (const id of Object.values(r.images)) {
        if (!id || !(await docker.getImage(id).inspect().then(() => true, () => false))) present = false;
      }
      const secrets = secretNames(r.spec);
      releases.push({ id: r.id, createdAt: r.createdAt, operator: r.operator, revision: r.revision, images: r.images, ...(r.digests ? { digests: r.digests } : {}), ...(secrets.length ? { secrets } : {}), imagesPresent: present });
    }
    out.push({ service: name, ...(h.current ? { current: h.current, since: h.since } : {}), releases });
  }
  return out;
}

function servicesWithHistory(playbook: string): string[] {
  try {
    return readdirSync(dirname(historyPath(playbook, 'x')))
      .filter((f) => f.endsWith('.json'))
      // fileName() %-escapes what a path must not hold: decodeURIComponent reads it back.
      .map((f) => decodeURIComponent(f.slice(0, -5)))
      .sort();
  } catch {
    return [];
  }
}
