// Vagrant's local state for one Vagrantfile (`.vagrant/`, or $VAGRANT_DOTFILE_PATH): which
// provider made each machine and its id there (VM UUID, libvirt domain, container id). A new id
// means the machine was destroyed and created again, so it has new SSH host keys.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';

export interface MachineRecord {
  provider: string;
  id: string;
}

export function dotfileDir(dir: string, env: NodeJS.ProcessEnv = process.env): string {
  const custom = env.VAGRANT_DOTFILE_PATH;
  if (!custom) return join(dir, '.vagrant');
  return isAbsolute(custom) ? custom : resolve(dir, custom);
}

/** Machines Vagrant has created in this environment (a machine never brought up has no id file). */
export function machineRecords(dotDir: string): Map<string, MachineRecord> {
  const out = new Map<string, MachineRecord>();
  const machines = join(dotDir, 'machines');
  if (!existsSync(machines)) return out;
  for (const name of readdirSync(machines)) {
    let providers: string[];
    try {
      providers = readdirSync(join(machines, name));
    } catch {
      continue;
    }
    for (const provider of providers) {
      const idFile = join(machines, name, provider, 'id');
      if (!existsSync(idFile)) continue;
      const id = readFileSync(idFile, 'utf8').trim();
      if (id) out.set(name, { provider, id });
    }
  }
  return out;
}

/** berth's files for this Vagrant environment: the learned host keys (and the docker key the root Vagrantfile makes). */
export const berthDir = (dotDir: string): string => join(dotDir, 'berth');
