// Where registration state lives on a host: under berth's own directory (the same rule as the
// bootstrap script: BERTH_HOST_DIR, else /var/lib/berth for root, else ~/.berth).
import os from 'node:os';
import { join } from 'node:path';

export function berthDir(): string {
  if (process.env.BERTH_HOST_DIR) return process.env.BERTH_HOST_DIR;
  return process.getuid?.() === 0 ? '/var/lib/berth' : join(os.homedir(), '.berth');
}

export const registryDir = (): string => join(berthDir(), 'registry');
/** The backend this host registers in (written by the `registry` module). */
export const configPath = (): string => join(registryDir(), 'config.json');
/** Instances this host should keep registered while healthy: one file each (registerInstance). */
export const instancesDir = (): string => join(registryDir(), 'instances');
/** What the watcher found: one file per instance (health, registered or withdrawn, last output). */
export const statusDir = (): string => join(registryDir(), 'status');
/** The embedded backend's own registrations: <service>/<id>.json with an expiry. */
export const embeddedDir = (): string => join(registryDir(), 'embedded');
/** The embedded backend's view of the other hosts, pushed by the controller at apply time. */
export const fleetPath = (): string => join(registryDir(), 'fleet.json');
/** Ambassadors the watcher keeps configured: one file each (the `ambassador` module). */
export const ambassadorsDir = (): string => join(registryDir(), 'ambassadors');
export const watcherDir = (): string => join(berthDir(), 'watcher');

/** File names from instance ids and service names (which may hold characters a path must not). */
export const fileName = (id: string): string => id.replace(/[^A-Za-z0-9_.-]/g, (c) => `%${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
