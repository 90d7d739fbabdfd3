// The services of a play: its own `services:` and those of the Compose file it imports
// (`compose:`), with the networks and volumes both declare, and a way to point at any of them
// in the file it came from.
import type { Service } from '../../schema/service.js';
import { composeOfPlay, type PlayWithCompose } from '../compose/playbook.js';
import { loadCompose, type ComposeProject, type ResourceDecl } from '../compose/load.js';
import type { ShippedMount } from '../compose/project-files.js';
import { err, ok, type BerthError, type Result } from '../errors.js';
import type { PlayShape } from '../run/playbook-shape.js';

export type { ResourceDecl };

export interface PlayServices {
  services: Record<string, Service>;
  networks: Record<string, ResourceDecl>;
  volumes: Record<string, ResourceDecl>;
  /** file:line:col of a key of a service, in the playbook or in the Compose file. */
  where(service: string, key: Array<string | number>): string;
  /** Services from the Compose file: their values are final (a Compose file is not a berth template). */
  literal: ReadonlySet<string>;
  /** By service: what the Compose file has berth ship to each host (relative bind mounts, configs, secrets). */
  shipped: Record<string, ShippedMount[]>;
}

/** What a play may say about services; the schema (schema/playbook.ts) decides what is valid. */
interface PlayWithServices extends PlayShape, PlayWithCompose {
  services?: Record<string, Service>;
  compose?: string;
  networks?: Record<string, ResourceDecl | null>;
  volumes?: Record<string, ResourceDecl | null>;
}

// A play's services are read once per run, however many hosts the play has.
const cache = new WeakMap<object, Result<PlayServices>>();

export function playServices(play: PlayShape, baseDir: string, where: (path: Array<string | number>) => string): Result<PlayServices> {
  const hit = cache.get(play);
  if (hit) return hit;
  const r = read(play as PlayWithServices, baseDir, where);
  cache.set(play, r);
  return r;
}

function read(play: PlayWithServices, baseDir: string, where: (path: Array<string | number>) => string): Result<PlayServices> {
  const own = play.services ?? {};
  const decl = (m: Record<string, ResourceDecl | null> | undefined) => Object.fromEntries(Object.entries(m ?? {}).map(([k, v]) => [k, v ?? {}]));
  const base: PlayServices = {
    services: { ...own },
    networks: decl(play.networks),
    volumes: decl(play.volumes),
    where: (service, key) => where(['services', service, ...key]),
    literal: new Set(),
    shipped: {},
  };
  if (!play.compose) return ok(base);
  const imported = play[composeOfPlay] ? ok(play[composeOfPlay]) : readNow(play, baseDir, where);
  if (!imported.ok) return imported;
  const c = imported.value;
  const clash = Object.keys(c.services).find((n) => n in own);
  if (clash) return err({ code: 'compose.duplicate-service', message: `service ${clash} is both in the play and in ${play.compose}`, where: where(['services', clash]), hint: 'rename one of them', exit: 2 });
  return ok({
    services: { ...c.services, ...own },
    networks: { ...c.networks, ...base.networks },
    volumes: { ...c.volumes, ...base.volumes },
    where: (service, key) => (service in own ? where(['services', service, ...key]) : c.where(['services', service, ...key])),
    literal: new Set(Object.keys(c.services)),
    shipped: c.shipped,
  });
}

/**
 * A play that did not come through the loader (a library caller handing the run a parsed
 * playbook): its Compose file is read now, with the play's vars and the environment.
 */
function readNow(play: PlayWithServices, baseDir: string, where: (path: Array<string | number>) => string): Result<ComposeProject> {
  const r = loadCompose({
    path: play.compose!,
    baseDir,
    shownDir: baseDir,
    vars: play.vars ?? {},
    env: process.env,
    play: { services: Object.keys(play.services ?? {}), networks: Object.keys(play.networks ?? {}), volumes: Object.keys(play.volumes ?? {}) },
    atReference: (code, message, hint) => ({ code, message, hint, where: where(['compose']), exit: 2, file: '', line: 0, col: 0 }),
  });
  return r.ok ? ok(r.value) : err(combine(r.error));
}

/** Several problems in one imported file, as the one error a plan can fail with. */
function combine(errors: BerthError[]): BerthError {
  if (errors.length === 1) return errors[0];
  return { code: errors[0].code, message: `${errors.length} problems in the Compose file:\n${errors.map((e) => `  ${e.where}: ${e.message}${e.hint ? ` (hint: ${e.hint})` : ''}`).join('\n')}`, where: errors[0].where, exit: 2 };
}
