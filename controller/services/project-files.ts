// A Compose service's shipped files (controller/compose/project-files.ts) as the plan carries
// them: each file's content goes into the run's blob registry, the way copy's does, and the
// plan names it by hash; the agent writes it into the project's folder when its copy differs
// (agent/services/project-files.ts). Each mount carries the hash of what it ships, so that
// changed content changes the container's config hash and the service rolls; the same content
// changes nothing. A secret's content never passes from host to host through relays.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Mount, ProjectFile } from '../../modules/service-spec.js';
import type { ShippedMount } from '../compose/project-files.js';
import type { BlobRegistry } from '../blobs.js';
import { badInput, err, ok, type Result } from '../errors.js';

export interface PreparedFiles {
  /** The mount that stands for a relative bind, by its place in the service's volumes. */
  byVolume: Map<number, Mount>;
  /** Configs and secrets, mounted after the volumes. */
  extra: Mount[];
  files: ProjectFile[];
}

export function prepareProjectFiles(project: string, shipped: ShippedMount[], blobs: BlobRegistry, where: (m: ShippedMount) => string): Result<PreparedFiles> {
  const out: PreparedFiles = { byVolume: new Map(), extra: [], files: [] };
  const paths = new Set<string>();
  for (const m of shipped) {
    const mine: ProjectFile[] = [];
    try {
      if (m.kind === 'bind') {
        // Permission bits as the controller's file has them, less setuid, setgid and sticky.
        for (const f of m.files) mine.push({ path: [project, m.hostPath, f.rel].filter(Boolean).join('/'), ...blobs.addFile(f.abs), mode: f.mode & 0o777 });
      } else {
        const secret = m.kind === 'secret';
        const content = m.content !== undefined ? Buffer.from(m.content) : secret ? readFileSync(m.files[0].abs) : undefined;
        const blob = content ? blobs.add(content, { share: !secret }) : blobs.addFile(m.files[0].abs);
        mine.push({ path: `${project}/${m.hostPath}`, ...blob, mode: m.mode ?? (secret ? 0o400 : 0o444), ...(m.uid !== undefined ? { uid: m.uid } : {}), ...(m.gid !== undefined ? { gid: m.gid } : {}) });
      }
    } catch (e) {
      return err(badInput('compose.file-unreadable', `${m.kind === 'bind' ? 'volume source' : m.kind} ${JSON.stringify(m.name)}: cannot read it (${(e as NodeJS.ErrnoException).code ?? String(e)})`, where(m), 'it was there when the playbook was loaded: is something changing the files while berth runs?'));
    }
    for (const f of mine) {
      if (paths.has(f.path)) continue;
      paths.add(f.path);
      out.files.push(f);
    }
    const mount: Mount = {
      type: 'bind',
      source: `${project}/${m.hostPath}`,
      target: m.target,
      ...(m.readOnly ? { readOnly: true } : {}),
      ...(m.selinux ? { selinux: m.selinux } : {}),
      ...(m.propagation ? { propagation: m.propagation } : {}),
      createHostPath: true,
      shipped: contentHash(mine),
    };
    if (m.volume !== undefined) out.byVolume.set(m.volume, mount);
    else out.extra.push(mount);
  }
  return ok(out);
}

/** What a mount ships, as one hash: names, contents and attributes of its files. */
function contentHash(files: ProjectFile[]): string {
  const h = createHash('sha256');
  for (const f of [...files].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))) h.update(`${f.path}\0${f.sha256}\0${f.mode}\0${f.uid ?? ''}\0${f.gid ?? ''}\n`);
  return h.digest('hex');
}
