// A host's registry settings (written by the `registry` module, read by the watcher and by
// registerInstance): which backend, the name this host has in it, the address other hosts reach
// it at, and the default time to live of its registrations.
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { readJson } from './json-file.js';
import { configPath } from './paths.js';
import type { BackendConfig } from './types.js';

export interface HostRegistryConfig {
  backend: BackendConfig;
  /** This host's name in instance keys and in `berth services`. */
  host: string;
  /** Address published instances are reached at from other hosts. */
  address: string;
  ttlMs: number;
}

export const DEFAULT_TTL_MS = 10_000;

/** The settings on disk, or the embedded defaults when the `registry` module never ran here. */
export function readHostConfig(): HostRegistryConfig {
  const c = readJson<Partial<HostRegistryConfig>>(configPath());
  return {
    backend: c?.backend ?? { kind: 'embedded' },
    host: c?.host || os.hostname(),
    address: c?.address || primaryAddress(),
    ttlMs: c?.ttlMs ?? DEFAULT_TTL_MS,
  };
}

/**
 * The IPv4 address of the interface the default route leaves by: the one other hosts most
 * likely reach this host at. Falls back to the first non-loopback IPv4 address.
 */
export function primaryAddress(): string {
  const ifaces = os.networkInterfaces();
  const v4 = (name: string) => ifaces[name]?.find((a) => a.family === 'IPv4' && !a.internal)?.address;
  try {
    const lines = readFileSync('/proc/net/route', 'utf8').split('\n').slice(1);
    for (const l of lines) {
      const [iface, dest] = l.trim().split(/\s+/);
      if (dest === '00000000' && iface && v4(iface)) return v4(iface)!;
    }
  } catch {
    // Not Linux, or /proc is hidden: fall through.
  }
  for (const name of Object.keys(ifaces)) if (v4(name) && !/^(docker|br-|veth)/.test(name)) return v4(name)!;
  return '127.0.0.1';
}
