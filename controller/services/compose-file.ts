// `compose: docker-compose.yml` in a play: the file's services become the play's, its networks
// and volumes the play's declarations. Keys berth has no meaning for are errors, one per key,
// at their line in the Compose file, so nothing is silently dropped. `links` become what they
// mean on a user network: the linked service answers to the link's alias, and starts first.
import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import type { Static } from '@sinclair/typebox';
import { badInput, err, ok, type BerthError, type Result } from '../errors.js';
import { parseYaml, type YamlSource } from '../load/source.js';
import { validatorFor } from '../load/validators.js';
import { Service } from '../../schema/service.js';
import { composeProperties } from '../../schema/compose.js';

export interface ResourceDecl {
  name?: string;
  driver?: string;
  driver_opts?: Record<string, unknown>;
  labels?: Record<string, unknown>;
  external?: boolean;
  internal?: boolean;
  attachable?: boolean;
}

export interface ComposeImport {
  file: string;
  services: Record<string, Static<typeof Service>>;
  networks: Record<string, ResourceDecl>;
  volumes: Record<string, ResourceDecl>;
  /** file:line:col of a path inside the Compose file. */
  where: (path: Array<string | number>) => string;
}

const TOP_LEVEL = new Set(['version', 'name', 'services', 'networks', 'volumes']);
const SERVICE_KEYS = new Set([...Object.keys(composeProperties), 'deploy', 'links', 'profiles']);
const RESOURCE_KEYS = new Set(['name', 'driver', 'driver_opts', 'labels', 'external', 'internal', 'attachable']);

/** What to say about Compose keys berth knows but does not do. */
const UNSUPPORTED: Record<string, string> = {
  secrets: 'use a copy or template task with mode 0600 and mount the file read-only',
  configs: 'use a copy or template task and mount the file read-only',
  extends: 'merge the services with YAML anchors (<<: *base) instead',
  external_links: 'put the other container on a shared network (networks:) and reach it by name',
  scale: 'write replicas: N',
  develop: 'watch mode is not part of berth',
  include: 'list the services in one file',
  userns_mode: 'not supported by berth',
  cgroup_parent: 'not supported by berth',
  cgroup: 'not supported by berth',
  blkio_config: 'not supported by berth',
  cpu_count: 'use cpus',
  cpu_percent: 'use cpus',
  cpuset: 'not supported by berth yet',
  mem_swappiness: 'not supported by berth',
  oom_kill_disable: 'not supported by berth',
  oom_score_adj: 'not supported by berth',
  isolation: 'Windows containers are not supported',
  storage_opt: 'not supported by berth',
  credential_spec: 'Windows containers are not supported',
  mac_address: 'not supported by berth',
  runtime: 'not supported by berth',
  gpus: 'not supported by berth',
  attach: 'berth never attaches to services',
  annotations: 'use labels',
  group_add: 'not supported by berth yet',
  device_cgroup_rules: 'not supported by berth',
  uts: 'not supported by berth',
  post_start: 'use a task after the play, or an entrypoint script',
  pre_stop: 'use stop_signal and stop_grace_period',
};

export function loadComposeFile(path: string, baseDir: string, where: string): Result<ComposeImport, BerthError[]> {
  const file = isAbsolute(path) ? path : resolve(baseDir, path);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    return err([badInput('compose.unreadable', `compose: cannot read ${path}: ${code === 'ENOENT' ? 'no such file' : (e as Error).message}`, where, 'the path is relative to the playbook')]);
  }
  const { source, errors } = parseYaml(path, text);
  if (errors.length) return err(errors.map((e) => badInput('compose.yaml', `not valid YAML: ${e.message.split('\n')[0]}`, at(source, e.offset))));
  const data = source.doc.toJS({ maxAliasCount: 1000 }) as Record<string, unknown> | null;
  const whereIn = (p: Array<string | number>, key = false) => source.where(p, { key });
  if (!data || typeof data !== 'object' || Array.isArray(data)) return err([badInput('compose.shape', `${path} is not a Compose file (a mapping with services:)`, whereIn([]))]);

  const problems: BerthError[] = [];
  for (const k of Object.keys(data)) {
    if (k.startsWith('x-') || TOP_LEVEL.has(k)) continue;
    problems.push(badInput('compose.unsupported', `Compose key "${k}" is not supported by berth`, whereIn([k], true), UNSUPPORTED[k]));
  }
  const services: Record<string, Record<string, unknown>> = {};
  for (const [name, raw] of Object.entries(asMap(data.services))) {
    const svc = { ...asMap(raw) };
    for (const k of Object.keys(svc)) {
      if (k.startsWith('x-') || SERVICE_KEYS.has(k)) continue;
      problems.push(badInput('compose.unsupported', `service ${name}: Compose key "${k}" is not supported by berth`, whereIn(['services', name, k], true), UNSUPPORTED[k] ?? 'remove it, or say what it should do in an issue'));
      delete svc[k];
    }
    services[name] = svc;
  }
  const resources = (kind: 'networks' | 'volumes'): Record<string, ResourceDecl> => {
    const out: Record<string, ResourceDecl> = {};
    for (const [name, raw] of Object.entries(asMap(data[kind]))) {
      const decl = asMap(raw);
      for (const k of Object.keys(decl)) {
        if (!RESOURCE_KEYS.has(k) && !k.startsWith('x-')) problems.push(badInput('compose.unsupported', `${kind}.${name}: Compose key "${k}" is not supported by berth`, whereIn([kind, name, k], true)));
      }
      out[name] = decl as ResourceDecl;
    }
    return out;
  };
  const networks = resources('networks');
  const volumes = resources('volumes');
  problems.push(...applyLinks(services, whereIn));
  if (problems.length) return err(problems);

  // What is left must be a berth service: the same schema as a play's services.
  const check = validatorFor(Service);
  for (const [name, svc] of Object.entries(services)) {
    if (check(svc)) continue;
    for (const e of (check.errors ?? []).slice(0, 5)) {
      const p = e.instancePath.split('/').slice(1).map((s) => (/^\d+$/.test(s) ? Number(s) : s));
      const expected = (e.parentSchema as { expected?: string } | undefined)?.expected;
      problems.push(badInput('compose.invalid', `service ${name}: ${p.length ? p.join('.') + ' ' : ''}${e.message ?? 'is not valid'}${expected ? ` (expected ${expected})` : ''}`, whereIn(['services', name, ...p])));
    }
  }
  if (problems.length) return err(problems);
  // Compose resolves a build context against the Compose file's folder, not the playbook's.
  for (const svc of Object.values(services)) {
    const b = svc.build as string | { context: string } | undefined;
    if (typeof b === 'string') svc.build = resolve(dirname(file), b);
    else if (b && typeof b === 'object' && typeof b.context === 'string') svc.build = { ...b, context: resolve(dirname(file), b.context) };
  }
  return ok({ file, services: services as ComposeImport['services'], networks, volumes, where: (p) => whereIn(p) });
}

/** links: ["db", "db:database"]: db starts first and answers to "database" on its networks. */
function applyLinks(services: Record<string, Record<string, unknown>>, whereIn: (p: Array<string | number>, key?: boolean) => string): BerthError[] {
  const problems: BerthError[] = [];
  for (const [name, svc] of Object.entries(services)) {
    const links = svc.links;
    delete svc.links;
    if (links === undefined) continue;
    if (!Array.isArray(links)) {
      problems.push(badInput('compose.invalid', `service ${name}: links must be a list`, whereIn(['services', name, 'links'])));
      continue;
    }
    links.forEach((l, i) => {
      const [target, alias] = String(l).split(':');
      const other = services[target];
      if (!other) return problems.push(badInput('compose.unknown-link', `service ${name}: links names "${target}", which is not a service of this file`, whereIn(['services', name, 'links', i])));
      const deps = svc.depends_on;
      if (deps === undefined) svc.depends_on = [target];
      else if (Array.isArray(deps)) svc.depends_on = [...new Set([...deps, target])];
      else if (typeof deps === 'object' && deps !== null && !(target in deps)) svc.depends_on = { ...deps, [target]: { condition: 'service_started' } };
      if (alias && alias !== target) {
        const nets = other.networks;
        const asMapForm = nets === undefined ? { default: {} } : Array.isArray(nets) ? Object.fromEntries(nets.map((n) => [n, {}])) : { ...(nets as Record<string, unknown>) };
        for (const [net, opts] of Object.entries(asMapForm)) {
          const o = (opts ?? {}) as { aliases?: string[] };
          asMapForm[net] = { ...o, aliases: [...new Set([...(o.aliases ?? []), alias])] };
        }
        other.networks = asMapForm;
      }
    });
  }
  return problems;
}

const asMap = (v: unknown): Record<string, unknown> => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {});
const at = (source: YamlSource, offset: number) => {
  const p = source.at(offset);
  return `${source.file}:${p.line}:${p.col}`;
};
