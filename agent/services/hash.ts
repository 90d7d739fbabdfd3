// The config hash: sha256 of the canonical JSON (keys sorted, undefined left out) of a container's
// normalised spec. Only what is in the spec counts: replicas, depends_on, build and rollout
// settings live outside of it, so changing them never recreates a container.
import { createHash } from 'node:crypto';
import type { ContainerSpec } from '../../modules/service-spec.js';

export function canonicalJson(v: unknown): string {
  if (v === null || typeof v !== 'object') return JSON.stringify(v) ?? 'null';
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  const entries = Object.entries(v as Record<string, unknown>)
    .filter(([, x]) => x !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, x]) => `${JSON.stringify(k)}:${canonicalJson(x)}`).join(',')}}`;
}

const sha = (s: string) => createHash('sha256').update(s).digest('hex');

export const configHash = (spec: ContainerSpec): string => sha(canonicalJson(spec));

/** An 8-hex hash per key of the spec, stored in a label, to name what changed on a recreate. */
export function keyHashes(spec: ContainerSpec): Record<string, string> {
  return Object.fromEntries(
    Object.entries(spec)
      .filter(([, v]) => v !== undefined && !(Array.isArray(v) && v.length === 0) && !(typeof v === 'object' && v !== null && !Array.isArray(v) && Object.keys(v).length === 0))
      .map(([k, v]) => [k, sha(canonicalJson(v)).slice(0, 8)]),
  );
}

/** Keys whose hash differs, in a person's words: `environment, ports`. */
export function changedKeys(before: Record<string, string> | undefined, after: Record<string, string>): string[] {
  if (!before) return [];
  const keys = new Set([...Object.keys(before), ...Object.keys(after)]);
  return [...keys].filter((k) => before[k] !== after[k]).map((k) => KEY_WORDS[k] ?? k).sort();
}

const KEY_WORDS: Record<string, string> = {
  env: 'environment',
  workingDir: 'working_dir',
  mounts: 'volumes',
  volumesFrom: 'volumes_from',
  network: 'networks',
  readOnly: 'read_only',
  capAdd: 'cap_add',
  capDrop: 'cap_drop',
  securityOpt: 'security_opt',
  memory: 'memory',
  memoryReservation: 'memory_reservation',
  memorySwap: 'memswap_limit',
  cpuShares: 'cpu_shares',
  nanoCpus: 'cpus',
  pidsLimit: 'pids_limit',
  shmSize: 'shm_size',
  stopSignal: 'stop_signal',
  stopGraceMs: 'stop_grace_period',
  extraHosts: 'extra_hosts',
  dnsSearch: 'dns_search',
  stdinOpen: 'stdin_open',
};

/** The release of a service instance: which image, with which config. */
export const releaseId = (imageId: string, hash: string) => sha(`${imageId}\n${hash}`).slice(0, 12);
