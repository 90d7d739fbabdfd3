// The name a playbook's containers, volumes and networks carry on a host (Compose's project
// name): the playbook's `name`, or its file name, in the characters Docker accepts in names.
import { basename, extname } from 'node:path';

export function projectName(name: string | undefined, playbookPath: string): string {
  const raw = name ?? basename(playbookPath, extname(playbookPath));
  const clean = raw.toLowerCase().replace(/[^a-z0-9_-]+/g, '-').replace(/^[-_]+|[-_]+$/g, '');
  return clean || 'berth';
}
