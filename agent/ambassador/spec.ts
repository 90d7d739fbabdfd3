// An ambassador as the watcher keeps it: a haproxy container on this host with one listener per
// service it routes to, configured from the registry. Written by the `ambassador` module to
// <registry>/ambassadors/<name>.json; the rendered haproxy.cfg lives in <registry>/ambassadors/<name>/.
import { join } from 'node:path';
import { readJsonDir } from '../registry/json-file.js';
import { ambassadorsDir, fileName } from '../registry/paths.js';

export interface Listener {
  /** Registry name of the service. */
  service: string;
  /** Port the application connects to (localhost:PORT, or ALIAS:PORT on a network). */
  port: number;
  /** Address to bind (host network: default 127.0.0.1; on networks: 0.0.0.0). */
  bind: string;
  /** Only instances carrying every one of these tags. */
  tags: string[];
  mode: 'tcp' | 'http';
  balance: 'roundrobin' | 'leastconn' | 'source';
}

export type AmbassadorNetwork = { mode: 'host' } | { mode: 'networks'; networks: Array<{ name: string; aliases: string[] }> };

export interface AmbassadorSpec {
  name: string;
  listeners: Listener[];
  network: AmbassadorNetwork;
  /** haproxy checks each server itself too (TCP connect), so a dead one stops getting traffic even between registry updates. */
  check: { enabled: boolean; intervalMs: number; fall: number; rise: number };
  /**
   * haproxy's connection retries, the last one on another server (`option redispatch`); absent:
   * 2. At 0 a refused connection reaches the client, which is how a test sees a server stopped
   * while it was still routed to.
   */
  retries?: number;
  image: string;
}

export const containerName = (name: string): string => (name === 'default' ? 'berth-ambassador' : `berth-ambassador-${name}`);
export const specPath = (name: string): string => join(ambassadorsDir(), `${fileName(name)}.json`);
/** Mounted read-only into the container; holds haproxy.cfg (a directory, so an atomic rename shows through). */
export const configDir = (name: string): string => join(ambassadorsDir(), fileName(name));
export const configFile = (name: string): string => join(configDir(name), 'haproxy.cfg');
export const CONFIG_IN_CONTAINER = '/etc/haproxy-berth/haproxy.cfg';

export const listAmbassadors = (): AmbassadorSpec[] => readJsonDir<AmbassadorSpec>(ambassadorsDir()).map((e) => e.value);
