// A service's release history on this host, so that any controller can roll it back: each
// release is what a converge made live (the images by id, the config, who and from what), newest
// first. It holds the service's full spec, environment included, so it is root's only (0600),
// as Docker's own container configs are.
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
 * the history), who made it, what it was pinned to.
 */
export function recordedSpec(spec: ServiceSpec): ServiceSpec {
  const { build: _b, origin: _o, pinned: _p, pull: _l, ...rest } = spec;
  return rest;
}
