// A service's release history on this host, so that any controller can roll it back: each
// release is what a converge made live (the images by id, the config, who and from what), newest
// first. It holds the service's full spec, environment included, so it is root's only (0600),
// as Docker's own container configs are; but never a secret's value: where the spec holds one,
// the record holds the secret's name, and a revert fills in the value the run sent for that name
// (the controller sends a rollback the secrets its release names).
import { join } from 'node:path';
import type { ServiceSpec } from '../../modules/service-spec.js';
import { readJson, writeJson } from '../registry/json-file.js';
import { berthDir, fileName } from '../registry/paths.js';

/** Releases kept per service and host: the images issue's K (image retention keeps as many). */
export const RELEASES_KEPT = 5;

export interface ReleaseRecord {
  id: string;
  /** image reference -> image id, as this release ran them. */
  images: Record<string, string>;
  /** image reference -> repository@sha256 digest, for the images that came from a registry. */
  digests?: Record<string, string>;
  configHash: string;
  createdAt: string;
  operator: string;
  revision: string;
  runId: string;
  /** The spec it was converged from (no build, no origin, no pins): what a rollback converges again. */
  spec: ServiceSpec;
}

export interface ReleaseHistory {
  playbook: string;
  service: string;
  /** The release live now, or absent when the last converge did not finish. */
  current?: string;
  /** When `current` became live. */
  since?: string;
  releases: ReleaseRecord[];
}

export const historyPath = (playbook: string, service: string) => join(berthDir(), 'releases', fileName(playbook), `${fileName(service)}.json`);

export function readHistory(playbook: string, service: string): ReleaseHistory {
  return readJson<ReleaseHistory>(historyPath(playbook, service)) ?? { playbook, service, releases: [] };
}

/** Records `record` as the live release: moved (or added) to the front, the oldest beyond K dropped. */
export function recordRelease(record: ReleaseRecord): ReleaseHistory {
  const h = readHistory(record.spec.playbook, record.spec.service);
  const kept = h.releases.filter((r) => r.id !== record.id);
  const prior = h.releases.find((r) => r.id === record.id);
  // A release that comes back (a rollback) keeps who first made it.
  const entry = prior ? { ...prior, images: record.images, digests: record.digests ?? prior.digests, spec: record.spec } : record;
  const next: ReleaseHistory = { playbook: h.playbook, service: h.service, current: record.id, since: new Date().toISOString(), releases: [entry, ...kept].slice(0, RELEASES_KEPT) };
  const path = historyPath(h.playbook, h.service);
  writeJson(path, next, 0o600);
  return next;
}

/**
 * What a release's spec must not carry: how it was built or pulled (registry logins stay out of
 * the history), who made it, what it was pinned to, and the values of the run's secrets
 * (`secrets`: by name), each written as its name instead.
 */
export function recordedSpec(spec: ServiceSpec, secrets: Record<string, string> = {}): ServiceSpec {
  const { build: _b, origin: _o, pinned: _p, pull: _l, ...rest } = spec;
  const known = Object.entries(secrets).filter(([, v]) => v.length > 0);
  if (known.length === 0) return rest;
  // One pass, longest value first: a secret holding another is replaced whole, and a name
  // written in place of a value is never searched again.
  const byValue = new Map(known.map(([name, value]) => [value, name]));
  const values = [...byValue.keys()].sort((a, b) => b.length - a.length);
  const re = new RegExp(values.map((v) => v.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|'), 'g');
  return mapStrings(rest, (s) => s.replace(re, (v) => secretRef(byValue.get(v)!))) as ServiceSpec;
}

// A secret in a recorded spec: its name between NULs, which no value berth passes to a container
// (an argument, an environment value, a label) can hold.
const secretRef = (name: string) => `\u0000secret:${name}\u0000`;
const SECRET_REF = /\u0000secret:([^\u0000]*)\u0000/g;

/** The names of the secrets a recorded spec holds in place of their values. */
export function secretNames(spec: ServiceSpec): string[] {
  const names = new Set<string>();
  mapStrings(spec, (s) => {
    for (const m of s.matchAll(SECRET_REF)) names.add(m[1]);
    return s;
  });
  return [...names].sort();
}

/** A recorded spec with its secrets' values put back, or the names this run did not send. */
export function filledSpec(spec: ServiceSpec, secrets: Record<string, string> = {}): { ok: true; spec: ServiceSpec } | { ok: false; missing: string[] } {
  const missing = secretNames(spec).filter((n) => typeof secrets[n] !== 'string');
  if (missing.length) return { ok: false, missing };
  return { ok: true, spec: mapStrings(spec, (s) => s.replace(SECRET_REF, (_, name: string) => secrets[name])) as ServiceSpec };
}

function mapStrings(v: unknown, f: (s: string) => string): unknown {
  if (typeof v === 'string') return f(v);
  if (Array.isArray(v)) return v.map((x) => mapStrings(x, f));
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, mapStrings(x, f)]));
  return v;
}
