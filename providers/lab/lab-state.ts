// What `lab up` leaves in stateDir()/labs/LAB/: lab.json (machine-readable), known_hosts and
// inventory.yml. Files are written under temp names and renamed, so readers never see half a file.
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { err, ExitCode, ok, type Result } from '../../controller/errors.js';
import { renderInventory } from './lab-inventory.js';
import type { HostInit } from './recipe.js';

export interface LabHostState {
  name: string;
  container: string;
  /** Where the controller reaches sshd: always 127.0.0.1 with a published port. */
  address: string;
  port: number;
  /** The host's address on the lab network (sshd on port 22 there). */
  ip: string;
  /** `ssh-ed25519 AAAA...` */
  hostKey: string;
}

export interface LabState {
  version: 1;
  name: string;
  dir: string;
  network: string;
  subnet: string;
  image: string;
  /** PID 1 of the hosts; absent in labs made before systemd hosts existed (tini). */
  init?: HostInit;
  aptRepo: string;
  aptLine: string;
  /** The container runtime lab hosts run with (`berth-privfix` on machines that need it). */
  runtime: string | null;
  keyPath: string;
  keyFingerprint: string;
  knownHostsPath: string;
  inventoryPath: string;
  hosts: LabHostState[];
  updatedAt: string;
}

export const LAB_JSON = 'lab.json';
export const KNOWN_HOSTS = 'known_hosts';
export const INVENTORY = 'inventory.yml';

export async function readLabState(dir: string): Promise<Result<LabState | undefined>> {
  const file = join(dir, LAB_JSON);
  if (!existsSync(file)) return ok(undefined);
  try {
    const v = JSON.parse(await readFile(file, 'utf8')) as LabState;
    if (v.version !== 1 || !Array.isArray(v.hosts)) throw new Error('unknown version');
    return ok(v);
  } catch (e) {
    return err({ code: 'lab.state-corrupt', message: `cannot read ${file}: ${(e as Error).message}`, where: file, hint: 'run `berth lab down` for this lab and start it again', exit: ExitCode.failed });
  }
}

/**
 * known_hosts lines for each host: as reached from the controller (`[127.0.0.1]:PORT`) and as
 * reached from another lab host (its lab IP, its name and container name, port 22), so that a
 * jump through one lab host to another verifies too.
 */
export function renderKnownHosts(s: LabState): string {
  const out = [`# berth lab ${s.name} (written by \`berth lab up\`)`];
  for (const h of s.hosts) {
    for (const name of [`[${h.address}]:${h.port}`, h.ip, h.name, h.container]) out.push(`${name} ${h.hostKey}`);
  }
  return out.join('\n') + '\n';
}

async function put(path: string, text: string, mode = 0o644): Promise<void> {
  const tmp = `${path}.tmp-${process.pid}`;
  await writeFile(tmp, text, { mode });
  await rename(tmp, path);
}

export async function writeLabState(s: LabState): Promise<void> {
  await mkdir(s.dir, { recursive: true, mode: 0o700 });
  await put(join(s.dir, KNOWN_HOSTS), renderKnownHosts(s));
  await put(join(s.dir, INVENTORY), renderInventory(s));
  await put(join(s.dir, LAB_JSON), JSON.stringify(s, null, 2) + '\n');
}
