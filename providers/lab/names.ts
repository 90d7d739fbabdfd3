// How lab things are named and labelled on the Docker engine: one place, so `up`, `down`,
// `status` and the tests agree on what belongs to a lab.
import { join } from 'node:path';
import { badInput, err, ok, type Result } from '../../controller/errors.js';
import { cacheDir, stateDir } from '../../controller/paths.js';

export const DEFAULT_LAB = 'default';
export const LABEL = 'berth.lab';
export const LABEL_HOST = 'berth.lab.host';
/** Fingerprint of the key a host was created for: a host made for another key is replaced. */
export const LABEL_KEY = 'berth.lab.key';
/** The state dir the lab was made for, so that tests can sweep labs whose runner died. */
export const LABEL_STATE = 'berth.lab.state';
/** What runs as the host's PID 1 (tini when absent: hosts made before systemd hosts existed). */
export const LABEL_INIT = 'berth.lab.init';
export const IMAGE_REPO = 'berth-lab/host';
export const BASE_IMAGE_REPO = 'berth-lab/base';
export const APT_MOUNT = '/srv/berth-apt';
export const APT_LINE = `deb [trusted=yes] file:${APT_MOUNT} ./`;

// Lower case only: the name goes into container and network names and into hostnames' neighbours.
const NAME_RE = /^[a-z0-9][a-z0-9-]{0,39}$/;

export function checkLabName(name: string): Result<string> {
  if (NAME_RE.test(name)) return ok(name);
  return err(badInput('lab.bad-name', `lab name ${JSON.stringify(name)} is not valid`, '--name', 'use 1-40 lower-case letters, digits and dashes, starting with a letter or digit'));
}

export const networkName = (lab: string): string => `berth-lab-${lab}`;
export const containerName = (lab: string, host: string): string => `berth-${lab}-${host}`;
export const hostName = (i: number): string => `h${i}`;

/** stateRoot is stateDir() unless a caller (the test helper) keeps its labs elsewhere. */
export const labDir = (lab: string, stateRoot: string = stateDir()): string => join(stateRoot, 'labs', lab);
export const labCacheDir = (): string => join(cacheDir(), 'lab');
