// A Compose file, read when the playbook is loaded (before any host is contacted): parsed with
// positions, interpolated as Compose does, its keys checked against what berth can carry out,
// its services checked against berth's service schema and against each other. Every problem
// comes out at once, at its file:line:column, with the path of the key and what to write
// instead. What comes out is a play's services, networks and volumes, plus the folder that
// relative paths in the file start from.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { parseStage } from '../load/analyze.js';
import { readInput, tooLargeHint, tooLargeMessage } from '../load/read-input.js';
import { pathText, type DocPath } from '../load/path.js';
import { fileError, locate, readProblem, type Finding, type LoadError } from '../load/problems.js';
import { explainSchemaErrors } from '../load/schema-errors.js';
import { asRecord } from '../load/shape.js';
import { closest, shortList } from '../load/suggest.js';
import { schemaErrors } from '../load/validators.js';
import { Service as ServiceSchema, type Service } from '../../schema/service.js';
import { composeChecks } from './checks.js';
import { parseEnvFile } from './dotenv.js';
import { serviceEnvironment } from './environment.js';
import { interpolateValues } from './interpolate-values.js';
import { BERTH_ONLY, NESTED_UNSUPPORTED, RESOURCE_KEYS, RESOURCE_UNSUPPORTED, SERVICE_KEYS, SERVICE_UNSUPPORTED, TOP_LEVEL, TOP_LEVEL_UNSUPPORTED, nestedPattern } from './keys.js';
import { applyLinks } from './links.js';
import { fileDecls, serviceFiles, type FilesContext, type ShippedMount } from './project-files.js';
import { aboveDotenv, composeVariables } from './variables.js';

export interface ResourceDecl {
  name?: string;
  driver?: string;
  driver_opts?: Record<string, unknown>;
  labels?: Record<string, unknown>;
  external?: boolean;
  internal?: boolean;
  attachable?: boolean;
}

export interface ComposeProject {
  /** The file as shown in messages (relative to the current directory when it is below it). */
  file: string;
  /** Folder of the file: relative paths inside it (build contexts, env files, bind mounts) start here. */
  dir: string;
  /** The file's top-level `name:`, interpolated. */
  name?: string;
  services: Record<string, Service>;
  networks: Record<string, ResourceDecl>;
  volumes: Record<string, ResourceDecl>;
  /** By service: what berth ships to each host for it (relative bind mounts, configs, secrets). */
  shipped: Record<string, ShippedMount[]>;
  /** file:line:col of a path inside the Compose file. */
  where(path: DocPath): string;
  /** Line and column of a path inside the Compose file. */
  position(path: DocPath): { line: number; col: number };
  /** Unset variables and the like: said once, the load goes on. */
  warnings: LoadError[];
}

export interface ComposeInput {
  /** Path of the Compose file as the playbook names it. */
  path: string;
  /** The playbook's folder, where a relative `path` starts. */
  baseDir: string;
  /** The same folder as shown in messages (the playbook's file as given, without its name). */
  shownDir: string;
  /** Berth vars the file's `${VAR}` may use (the playbook's, then the play's). */
  vars: Record<string, unknown>;
  env: Record<string, string | undefined>;
  /** Names the play itself declares: a Compose service may depend on the play's own services. */
  play?: { services: string[]; networks: string[]; volumes: string[] };
  /** An error at the playbook's `compose:` key (a file that cannot be read). */
  atReference(code: string, message: string, hint?: string): LoadError;
  /** The file's text, when the caller has it already (the file's folder still counts). */
  text?: string;
}

export function loadCompose(input: ComposeInput): { ok: true; value: ComposeProject } | { ok: false; error: LoadError[] } {
  const file = isAbsolute(input.path) ? input.path : resolve(input.baseDir, input.path);
  const shown = isAbsolute(input.path) ? input.path : join(input.shownDir, input.path);
  const dir = dirname(file);
  const shownDir = dirname(shown);
  let text: string;
  try {
    if (input.text !== undefined) text = input.text;
    else if (statSync(file).isDirectory()) return { ok: false, error: [input.atReference('compose.not-a-file', `compose: ${input.path} is a directory, expected a Compose file`, 'name the file, e.g. compose: app/compose.yaml')] };
    else {
      const r = readInput(file);
      if (!r.ok) return { ok: false, error: [input.atReference('file.too-large', `compose: ${input.path}: ${tooLargeMessage(r.bytes)}`, tooLargeHint)] };
      text = r.text;
    }
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return { ok: false, error: [input.atReference('compose.not-found', `compose: ${JSON.stringify(input.path)} does not exist`, `the path is relative to the playbook's folder (looked for ${shown})`)] };
    const p = readProblem(shown, e);
    return { ok: false, error: [input.atReference('compose.unreadable', `compose: ${input.path}: ${p.message}`)] };
  }

  const { parsed, errors } = parseStage(shown, text);
  if (!parsed) return { ok: false, error: errors };
  const { source } = parsed;
  const problems: LoadError[] = [...errors];
  const warnings: LoadError[] = [];
  const at = (f: Finding) => locate(source, f);
  const raw = parsed.data;
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    return { ok: false, error: [...problems, fileError(shown, 'compose.shape', raw === null ? 'the Compose file is empty' : 'not a Compose file: expected a mapping with services:', 'a Compose file starts with services: and a service under it')] };
  }
  const v1 = composeV1(raw as Record<string, unknown>);
  if (v1) return { ok: false, error: [...problems, at(v1)] };

  // .env beside the file: the lowest variables, themselves interpolated from the ones above.
  const above = aboveDotenv(input);
  let dotenv: Record<string, string> = {};
  const dotenvFile = join(dir, '.env');
  if (existsSync(dotenvFile) && statSync(dotenvFile).isFile()) {
    const shownEnv = join(shownDir, '.env');
    const r = parseEnvFile(readFileSync(dotenvFile, 'utf8'), above);
    if (!r.ok) problems.push(fileError(shownEnv, 'compose.dotenv', r.problem.message, 'lines of KEY=VALUE; quote a value that has a # or spaces', r.problem.line, 1));
    else {
      dotenv = r.values;
      for (const u of r.unset) warnings.push(unsetWarning(u.name, `${shownEnv}:${u.line}:1`, shownEnv, u.line));
    }
  }
  const vars = composeVariables({ env: input.env, vars: input.vars, dotenv });

  // Interpolation, value by value, so that a problem points at the value that has it.
  const unsetAt = new Map<string, DocPath>();
  // A value that could not be interpolated or cast is said once, not again by the schema.
  const badValues = new Set<string>();
  const data = interpolateValues(raw, vars.lookup, (path, f) => (badValues.add(pathText(path)), problems.push(at({ ...f, path }))), (name, path) => {
    if (!unsetAt.has(name)) unsetAt.set(name, path);
  }) as Record<string, unknown>;
  for (const [name, path] of unsetAt) {
    const p = source.position(path);
    warnings.push(unsetWarning(name, `${shown}:${p.line}:${p.col}`, shown, p.line, p.col, vars.why(name), pathText(path)));
  }

  for (const k of Object.keys(data)) {
    if (k.startsWith('x-') || TOP_LEVEL.has(k)) continue;
    problems.push(at(keyProblem([], k, TOP_LEVEL_UNSUPPORTED[k], [...TOP_LEVEL])));
  }
  let name: string | undefined;
  if (data.name !== undefined) {
    if (typeof data.name !== 'string' || !/^[a-z0-9][a-z0-9_-]*$/.test(data.name)) {
      const suggestion = String(data.name).toLowerCase().replace(/[^a-z0-9_-]+/g, '-').replace(/^[-_]+|[-_]+$/g, '');
      problems.push(at({ code: 'compose.name', message: `name: ${JSON.stringify(data.name)} is not a project name Compose accepts`, path: ['name'], hint: `lower-case letters, digits, - and _, starting with a letter or digit${suggestion ? `: name: ${suggestion}` : ''}` }));
    } else name = data.name;
  }

  const filesCtx: FilesContext = { dir, shownDir, lookup: vars.lookup, written: (p) => writtenText(source, p) };
  const configs = fileDecls('configs', data.configs, filesCtx);
  const secrets = fileDecls('secrets', data.secrets, filesCtx);
  problems.push(...configs.findings.map(at), ...secrets.findings.map(at));
  const declared = {
    configs: configs.decls,
    secrets: secrets.decls,
    names: { configs: Object.keys(asRecord(data.configs)).filter((k) => !k.startsWith('x-')), secrets: Object.keys(asRecord(data.secrets)).filter((k) => !k.startsWith('x-')) },
  };
  const shipped: Record<string, ShippedMount[]> = {};

  const services: Record<string, Record<string, unknown>> = {};
  if (data.services !== undefined && (data.services === null || typeof data.services !== 'object' || Array.isArray(data.services))) {
    problems.push(at({ code: 'compose.shape', message: 'services: expected a mapping of service names to services', path: ['services'] }));
  }
  for (const [svcName, rawSvc] of Object.entries(asRecord(data.services))) {
    if (svcName.startsWith('x-')) continue;
    const svcAt: DocPath = ['services', svcName];
    if (!/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/.test(svcName)) {
      problems.push(at({ code: 'compose.service-name', message: `service name ${JSON.stringify(svcName)} is not one Compose accepts`, path: svcAt, key: true, hint: 'letters, digits, _, . and -, starting with a letter or digit' }));
    }
    if (rawSvc === null || typeof rawSvc !== 'object' || Array.isArray(rawSvc)) {
      problems.push(at({ code: 'compose.shape', message: `service ${JSON.stringify(svcName)}: expected a mapping of Compose keys`, path: svcAt, hint: 'e.g. web: { image: nginx }' }));
      continue;
    }
    const svc: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(rawSvc)) {
      if (k.startsWith('x-')) continue;
      if (SERVICE_KEYS.has(k)) svc[k] = v;
      else if (BERTH_ONLY.has(k)) {
        problems.push(at({ code: 'compose.berth-key', message: `${JSON.stringify(k)} in services.${svcName} is a berth key, not a Compose key`, path: [...svcAt, k], key: true, hint: "move this service to the play's services: (beside compose:), where berth's own keys such as health, register, sidecars and update go; a Compose file holds Compose keys only" }));
      } else problems.push(at(keyProblem(svcAt, k, SERVICE_UNSUPPORTED[k], [...SERVICE_KEYS])));
    }
    if (Array.isArray(svc.devices)) svc.devices = svc.devices.map(shortDevice);
    const env = serviceEnvironment(svc, { name: svcName, dir, shownDir, lookup: vars.lookup });
    problems.push(...env.findings.map(at), ...env.problems);
    for (const u of env.unset) warnings.push(unsetWarning(u.name, `${u.file}:${u.line}:1`, u.file, u.line, 1, vars.why(u.name)));
    const files = serviceFiles(svcName, svc, declared, filesCtx);
    problems.push(...files.findings.map(at));
    warnings.push(...files.warnings.map(at));
    if (files.mounts.length) shipped[svcName] = files.mounts;
    services[svcName] = svc;
  }

  const resources = (kind: 'networks' | 'volumes'): Record<string, ResourceDecl> => {
    const out: Record<string, ResourceDecl> = {};
    for (const [resName, rawDecl] of Object.entries(asRecord(data[kind]))) {
      if (resName.startsWith('x-')) continue;
      if (rawDecl !== null && (typeof rawDecl !== 'object' || Array.isArray(rawDecl))) {
        problems.push(at({ code: 'compose.shape', message: `${kind}.${resName}: expected a mapping (or nothing)`, path: [kind, resName], hint: `${resName}: {} declares it with the defaults` }));
        continue;
      }
      const decl: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(asRecord(rawDecl))) {
        if (k.startsWith('x-')) continue;
        if (RESOURCE_KEYS[kind].has(k)) decl[k] = v;
        else problems.push(at(keyProblem([kind, resName], k, RESOURCE_UNSUPPORTED[`${kind}.${k}`], [...RESOURCE_KEYS[kind]])));
      }
      // `external: { name: x }` is the old way of naming an external resource.
      if (decl.external !== null && typeof decl.external === 'object') {
        problems.push(at({ code: 'compose.unsupported', message: `${kind}.${resName}.external: the mapping form is obsolete`, path: [kind, resName, 'external'], hint: 'write external: true and name: THE_NAME beside it' }));
      }
      out[resName] = decl as ResourceDecl;
    }
    return out;
  };
  const networks = resources('networks');
  const volumes = resources('volumes');

  problems.push(...applyLinks(services).map(at));
  problems.push(...composeChecks({ services, networks, volumes, play: input.play }).map(at));

  // What is left must be a berth service: the same schema as a play's services.
  for (const [svcName, svc] of Object.entries(services)) {
    for (const f of explainSchemaErrors(schemaErrors(ServiceSchema, svc))) {
      const finding = serviceFinding(svcName, f);
      if (!badValues.has(pathText(finding.path))) problems.push(at(finding));
    }
  }
  problems.push(...buildContexts(services, dir, shownDir).map(at));

  if (problems.length) return { ok: false, error: problems };
  // Compose resolves a build context against the Compose file's folder, not the playbook's.
  for (const svc of Object.values(services)) {
    const b = svc.build as string | { context: string } | undefined;
    if (typeof b === 'string') svc.build = resolve(dir, b);
    else if (b && typeof b === 'object' && typeof b.context === 'string') svc.build = { ...b, context: resolve(dir, b.context) };
  }
  return {
    ok: true,
    value: { file: shown, dir, name, services: services as Record<string, Service>, networks, volumes, shipped, where: (p) => source.where(p), position: (p) => source.position(p), warnings },
  };
}

/** Services at the top level and no `services:`: the format of Compose v1 (before 2016). */
function composeV1(data: Record<string, unknown>): Finding | undefined {
  if ('services' in data) return undefined;
  const first = Object.entries(data).find(([k, v]) => !TOP_LEVEL.has(k) && !k.startsWith('x-') && v !== null && typeof v === 'object' && !Array.isArray(v) && ('image' in v || 'build' in v));
  if (!first) return undefined;
  return {
    code: 'compose.v1',
    message: `this is a Compose v1 file: services at the top level (${JSON.stringify(first[0])}) and no services: key`,
    path: [first[0]],
    key: true,
    hint: 'berth reads the Compose specification (Compose v2 and later): put "services:" on the first line and indent the services under it; links keep working (as network aliases and depends_on)',
  };
}

function keyProblem(parent: DocPath, key: string, unsupported: string | undefined, allowed: string[]): Finding {
  const path = [...parent, key];
  const where = parent.length ? `in ${pathText(parent)}` : 'at the top level';
  if (unsupported) return { code: 'compose.unsupported', message: `Compose key ${JSON.stringify(key)} ${where} is not supported by berth`, path, key: true, hint: unsupported };
  const near = closest(key, allowed);
  return {
    code: 'compose.unknown-key',
    message: `unknown key ${JSON.stringify(key)} ${where}: not a Compose key`,
    path,
    key: true,
    hint: near ? `did you mean ${JSON.stringify(near)}?` : `keys here: ${shortList(allowed.filter((k) => !k.startsWith('x-')), 16)} (own data goes under keys starting with x-)`,
  };
}

/** A schema finding about a service, placed in the file and said in Compose's terms. */
function serviceFinding(svcName: string, f: Finding): Finding {
  const path: DocPath = ['services', svcName, ...f.path];
  if (f.code !== 'schema.unknown-key') return { ...f, path, hint: f.hint ?? SCHEMA_HINT };
  const key = String(f.path[f.path.length - 1]);
  const parent = path.slice(0, -1);
  const hint = NESTED_UNSUPPORTED[nestedPattern(f.path)];
  if (hint) return { code: 'compose.unsupported', message: `Compose key ${JSON.stringify(key)} in ${pathText(parent)} is not supported by berth`, path, key: true, hint };
  return { code: 'compose.unknown-key', message: `unknown key ${JSON.stringify(key)} in ${pathText(parent)}`, path, key: true, hint: f.hint ?? SCHEMA_HINT };
}

const SCHEMA_HINT = 'the forms berth takes for each Compose key are in docs/services.md ("Compose keys in berth")';

/** Compose's long form of a device (source, target, permissions) in the short form berth's schema takes. */
function shortDevice(d: unknown): unknown {
  if (d === null || typeof d !== 'object' || Array.isArray(d)) return d;
  const { source, target, permissions, ...rest } = d as Record<string, unknown>;
  if (Object.keys(rest).length || typeof source !== 'string' || (target !== undefined && typeof target !== 'string') || (permissions !== undefined && typeof permissions !== 'string')) return d;
  return [source, target ?? source, ...(permissions ? [permissions] : [])].join(':');
}

/** Build contexts and Dockerfiles must be there before anything connects; they start at the Compose file's folder. */
function buildContexts(services: Record<string, Record<string, unknown>>, dir: string, shownDir: string): Finding[] {
  const found: Finding[] = [];
  for (const [svcName, svc] of Object.entries(services)) {
    const b = svc.build;
    const context = typeof b === 'string' ? b : typeof asRecord(b).context === 'string' ? (asRecord(b).context as string) : undefined;
    if (context === undefined) continue;
    const path: DocPath = typeof b === 'string' ? ['services', svcName, 'build'] : ['services', svcName, 'build', 'context'];
    const full = resolve(dir, context);
    const hint = `a build context is relative to the Compose file's folder (looked for ${isAbsolute(context) ? context : join(shownDir, context)})`;
    if (!existsSync(full) || !statSync(full).isDirectory()) {
      found.push({ code: 'compose.missing-file', message: `build context ${JSON.stringify(context)} ${existsSync(full) ? 'is a file, expected a directory' : 'does not exist'}`, path, hint });
      continue;
    }
    const dockerfile = typeof asRecord(b).dockerfile === 'string' ? (asRecord(b).dockerfile as string) : 'Dockerfile';
    if (!existsSync(resolve(full, dockerfile))) {
      found.push({ code: 'compose.missing-file', message: `build context ${JSON.stringify(context)} has no ${JSON.stringify(dockerfile)}`, path: asRecord(b).dockerfile === undefined ? path : ['services', svcName, 'build', 'dockerfile'], hint: 'the Dockerfile path is relative to the build context' });
    }
  }
  return found;
}

/** The text of the scalar at a path as the file writes it, before YAML reads it. */
function writtenText(source: { text: string; position(p: DocPath): { line: number; col: number } }, path: DocPath): string | undefined {
  const { line, col } = source.position(path);
  const text = source.text.split('\n')[line - 1]?.slice(col - 1);
  return text === undefined ? undefined : /^[^\s#,}\]]*/.exec(text)?.[0];
}

function unsetWarning(name: string, where: string, file: string, line: number, col = 1, why?: string, path?: string): LoadError {
  return {
    code: 'compose.unset-variable',
    message: `variable ${name} is not set: it is read as an empty string`,
    where,
    hint: `${why ? `${why}; ` : ''}set it in the environment (${name}=... berth apply), in the playbook's vars, or in .env beside the Compose file; or give it a default: \${${name}:-value}`,
    file,
    line,
    col,
    path,
  };
}
