// What a Compose file has berth put on each host, read when the file is loaded: the files a
// relative bind mount names (`./conf:/etc/app`), and the file's configs and secrets. On a host
// each lives in the project's folder (berth's directory, /var/lib/berth for root, then
// projects/<project>/) and the container binds it from there:
//   files/<path>               what a relative bind mount names (its path below the Compose file's folder)
//   configs/<service>/<name>   a config, per service (the service says its uid, gid and mode)
//   secrets/<service>/<name>   a secret, 0400 unless the service says otherwise
// Docker Compose binds a local path into a container; berth's containers run on other machines,
// so the content goes there first, by hash (controller/services/project-files.ts), and only
// when it changed.
import { readdirSync, realpathSync, statSync, type Stats } from 'node:fs';
import { homedir } from 'node:os';
import { isAbsolute, join, relative, resolve } from 'node:path';
import { pathText, type DocPath } from '../load/path.js';
import type { Finding } from '../load/problems.js';
import { asRecord } from '../load/shape.js';
import { didYouMean, shortList } from '../load/suggest.js';
import type { Lookup } from './interpolate.js';
import { FILE_DECL_UNSUPPORTED } from './keys.js';

/** A file of a relative bind mount as the controller has it. */
export interface ShippedFile {
  /** Below the mount's own path ('' when the mount is this one file). */
  rel: string;
  /** On the controller. */
  abs: string;
  /** Permission bits of the controller's file: the host's copy keeps them. */
  mode: number;
  size: number;
}

export interface ShippedMount {
  kind: 'bind' | 'config' | 'secret';
  /** The config's or secret's name; for a bind, its source as written. */
  name: string;
  /** Where it goes below the project's folder on the host. */
  hostPath: string;
  /** Path inside the container. */
  target: string;
  readOnly: boolean;
  /** A bind's place in the service's volumes: this mount stands for that entry. */
  volume?: number;
  /** A folder (with its files), or one file. A bind of a path the controller lacks is an empty folder. */
  dir: boolean;
  /** What a bind ships, or a config's or secret's file on the controller. */
  files: ShippedFile[];
  /** A config's or secret's content when it is not a file (content:, environment:). */
  content?: string;
  uid?: number;
  gid?: number;
  /** Permission bits a config or secret is written with. */
  mode?: number;
  selinux?: string;
  propagation?: string;
}

/** A top-level config or secret: where its content comes from. */
export interface FileDecl {
  /** A file on the controller. */
  from?: string;
  content?: string;
}

export interface FilesContext {
  /** The Compose file's folder, and the same as shown in messages. */
  dir: string;
  shownDir: string;
  lookup: Lookup;
  /** The value at a path as the file writes it (`0440`, which YAML 1.2 reads as 440). */
  written(path: DocPath): string | undefined;
}

/** More than this in one relative bind mount is not configuration: a named volume is the way. */
export const MAX_SHIPPED_FILES = 10_000;
export const MAX_SHIPPED_BYTES = 256 * 1024 * 1024;

const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;
const DECL_KEYS: Record<'configs' | 'secrets', string[]> = { configs: ['file', 'environment', 'content'], secrets: ['file', 'environment'] };

/** The file's top-level `configs:` or `secrets:`. */
export function fileDecls(kind: 'configs' | 'secrets', raw: unknown, ctx: FilesContext): { decls: Record<string, FileDecl>; findings: Finding[] } {
  const decls: Record<string, FileDecl> = {};
  const findings: Finding[] = [];
  if (raw === undefined || raw === null) return { decls, findings };
  if (typeof raw !== 'object' || Array.isArray(raw)) {
    findings.push({ code: 'compose.shape', message: `${kind}: expected a mapping of names to ${kind}`, path: [kind], hint: `${kind}: { NAME: { file: ./PATH } }` });
    return { decls, findings };
  }
  const one = kind.slice(0, -1);
  for (const [name, rawDecl] of Object.entries(raw)) {
    if (name.startsWith('x-')) continue;
    const at: DocPath = [kind, name];
    if (!NAME.test(name)) findings.push({ code: 'compose.file-name', message: `${one} name ${JSON.stringify(name)} cannot name a file`, path: at, key: true, hint: 'letters, digits, _, . and -, starting with a letter or digit' });
    if (rawDecl === null || typeof rawDecl !== 'object' || Array.isArray(rawDecl)) {
      findings.push({ code: 'compose.shape', message: `${kind}.${name}: expected a mapping with file${kind === 'configs' ? ', content' : ''} or environment`, path: at, hint: `${name}: { file: ./${name}.txt }` });
      continue;
    }
    const d = rawDecl as Record<string, unknown>;
    let bad = false;
    for (const k of Object.keys(d)) {
      if (k.startsWith('x-') || DECL_KEYS[kind].includes(k)) continue;
      bad = true;
      const hint = FILE_DECL_UNSUPPORTED[`${kind}.${k}`];
      if (hint) findings.push({ code: 'compose.unsupported', message: `Compose key ${JSON.stringify(k)} in ${pathText(at)} is not supported by berth`, path: [...at, k], key: true, hint });
      else findings.push({ code: 'compose.unknown-key', message: `unknown key ${JSON.stringify(k)} in ${pathText(at)}`, path: [...at, k], key: true, hint: `${didYouMean(k, DECL_KEYS[kind]) ?? `keys here: ${DECL_KEYS[kind].join(', ')}`}` });
    }
    const sources = DECL_KEYS[kind].filter((k) => d[k] !== undefined);
    if (sources.length !== 1) {
      if (!bad || sources.length > 1) {
        findings.push({
          code: 'compose.file-source',
          message: `${kind}.${name}: ${sources.length ? `${sources.join(' and ')} both give` : 'nothing gives'} its content`,
          path: sources.length ? [...at, sources[1]] : at,
          key: sources.length > 1,
          hint: `give exactly one of ${DECL_KEYS[kind].join(', ')}`,
        });
      }
      continue;
    }
    const source = sources[0];
    const v = d[source];
    if (typeof v !== 'string' || v === '') {
      findings.push({ code: 'compose.shape', message: `${kind}.${name}.${source}: expected ${source === 'environment' ? 'the name of a variable' : source === 'file' ? 'a path' : 'text'}`, path: [...at, source] });
      continue;
    }
    if (source === 'content') decls[name] = { content: v };
    else if (source === 'environment') {
      const value = ctx.lookup(v);
      if (value === undefined) findings.push({ code: 'compose.unset-variable', message: `${kind}.${name}: the variable ${v} is not set`, path: [...at, source], hint: `set ${v} in the environment, in the playbook's vars, or in .env beside the Compose file` });
      else decls[name] = { content: value };
    } else {
      const full = v.startsWith('~/') ? join(homedir(), v.slice(2)) : resolve(ctx.dir, v);
      const st = statOrUndefined(full);
      if (!st?.isFile()) {
        findings.push({
          code: 'compose.missing-file',
          message: `${kind}.${name}.file ${JSON.stringify(v)} ${st ? 'is not a file' : 'does not exist'}`,
          path: [...at, 'file'],
          hint: `the path is relative to the Compose file's folder (looked for ${isAbsolute(v) || v.startsWith('~/') ? full : join(ctx.shownDir, v)})`,
        });
      } else decls[name] = { from: full };
    }
  }
  return { decls, findings };
}

/**
 * A service's relative bind mounts, configs and secrets, as mounts berth ships. The service
 * loses its `configs:` and `secrets:` keys (berth's service schema has neither); its relative
 * volumes entries stay where they are, for their place in messages, and are stood in for.
 */
export function serviceFiles(
  svcName: string,
  svc: Record<string, unknown>,
  declared: { configs: Record<string, FileDecl>; secrets: Record<string, FileDecl>; names: { configs: string[]; secrets: string[] } },
  ctx: FilesContext,
): { mounts: ShippedMount[]; findings: Finding[]; warnings: Finding[] } {
  const mounts: ShippedMount[] = [];
  const findings: Finding[] = [];
  const warnings: Finding[] = [];
  const at: DocPath = ['services', svcName];

  (Array.isArray(svc.volumes) ? svc.volumes : []).forEach((v, i) => {
    const bind = relativeBind(v);
    if (!bind) return;
    const path: DocPath = typeof v === 'string' ? [...at, 'volumes', i] : [...at, 'volumes', i, 'source'];
    if (bind.source.startsWith('~')) {
      findings.push({ code: 'compose.home-path', message: `volume source ${JSON.stringify(bind.source)} is in the controller's home folder, which berth does not ship`, path, hint: 'put the files beside the Compose file and write ./PATH (berth ships them to each host), or write an absolute path on the hosts' });
      return;
    }
    const full = resolve(ctx.dir, bind.source);
    const rel = relative(ctx.dir, full);
    if (rel === '..' || rel.startsWith('../') || isAbsolute(rel)) {
      findings.push({ code: 'compose.outside-project', message: `volume source ${JSON.stringify(bind.source)} is outside the Compose file's folder`, path, hint: "berth ships a relative bind mount's files to each host under the project's folder: keep them below the Compose file's folder, or write an absolute path on the hosts" });
      return;
    }
    const hostPath = rel === '' ? 'files' : `files/${rel}`;
    const st = statOrUndefined(full);
    const base = { kind: 'bind' as const, name: bind.source, hostPath, target: bind.target, readOnly: bind.readOnly, volume: i, ...(bind.selinux ? { selinux: bind.selinux } : {}), ...(bind.propagation ? { propagation: bind.propagation } : {}) };
    if (!st) {
      // As Compose does: a bind of a path that is not there binds a new, empty folder.
      warnings.push({ code: 'compose.missing-bind', message: `volume source ${JSON.stringify(bind.source)} does not exist beside the Compose file: each host binds an empty folder`, path, hint: `create ${join(ctx.shownDir, bind.source)} if the container should find files there; for data the container writes, a named volume is the usual way` });
      mounts.push({ ...base, dir: true, files: [] });
      return;
    }
    if (st.isFile()) {
      mounts.push({ ...base, dir: false, files: [{ rel: '', abs: full, mode: st.mode & 0o7777, size: st.size }] });
      return;
    }
    if (!st.isDirectory()) {
      findings.push({ code: 'compose.bind-source', message: `volume source ${JSON.stringify(bind.source)} is neither a file nor a folder`, path, hint: 'bind a file or a folder' });
      return;
    }
    const walked = walk(full);
    if (!walked.ok) {
      findings.push({ code: 'compose.bind-too-large', message: `volume source ${JSON.stringify(bind.source)} holds ${walked.why}, more than berth ships to each host (${MAX_SHIPPED_FILES} files, ${MAX_SHIPPED_BYTES / 1024 / 1024} MiB)`, path, hint: 'ship configuration this way; for data, use a named volume (declare it under volumes:), or an absolute path on the hosts' });
      return;
    }
    mounts.push({ ...base, dir: true, files: walked.files });
  });

  for (const kind of ['configs', 'secrets'] as const) {
    const list = svc[kind];
    delete svc[kind];
    if (list === undefined || list === null) continue;
    if (!Array.isArray(list)) {
      findings.push({ code: 'compose.shape', message: `${pathText([...at, kind])}: expected a list of ${kind}`, path: [...at, kind], hint: `${kind}: [NAME] or ${kind}: [{ source: NAME, target: PATH }]` });
      continue;
    }
    list.forEach((item, i) => {
      const m = fileMount(kind, svcName, item, [...at, kind, i], declared, ctx, findings);
      if (m) mounts.push(m);
    });
  }

  // Docker refuses two mounts at one path; so does berth, at the line of the second.
  const targets = new Map<string, string>();
  (Array.isArray(svc.volumes) ? svc.volumes : []).forEach((v) => {
    const t = volumeTarget(v);
    if (t) targets.set(t, 'volumes');
  });
  for (const m of mounts) {
    if (m.kind === 'bind') continue;
    const other = targets.get(m.target);
    if (other) findings.push({ code: 'compose.duplicate-target', message: `${m.kind.slice(0, -1)} ${JSON.stringify(m.name)} is mounted at ${m.target}, where ${other} already mounts something`, path: [...at, m.kind], key: true, hint: 'give it another target:' });
    targets.set(m.target, `${m.kind.slice(0, -1)} ${JSON.stringify(m.name)}`);
  }
  return { mounts, findings, warnings };
}

function fileMount(
  kind: 'configs' | 'secrets',
  svcName: string,
  item: unknown,
  path: DocPath,
  declared: { configs: Record<string, FileDecl>; secrets: Record<string, FileDecl>; names: { configs: string[]; secrets: string[] } },
  ctx: FilesContext,
  findings: Finding[],
): ShippedMount | undefined {
  const one = kind.slice(0, -1);
  const long = item !== null && typeof item === 'object' && !Array.isArray(item) ? (item as Record<string, unknown>) : undefined;
  if (typeof item !== 'string' && !long) {
    findings.push({ code: 'compose.shape', message: `${pathText(path)}: expected a ${one}'s name, or a mapping with source`, path, hint: `- NAME or - { source: NAME, target: PATH }` });
    return undefined;
  }
  let bad = false;
  for (const k of Object.keys(long ?? {})) {
    if (k.startsWith('x-') || ['source', 'target', 'uid', 'gid', 'mode'].includes(k)) continue;
    bad = true;
    findings.push({ code: 'compose.unknown-key', message: `unknown key ${JSON.stringify(k)} in ${pathText(path)}`, path: [...path, k], key: true, hint: didYouMean(k, ['source', 'target', 'uid', 'gid', 'mode']) ?? `keys here: source, target, uid, gid, mode` });
  }
  const source = typeof item === 'string' ? item : long!.source;
  const sourcePath = long ? [...path, 'source'] : path;
  if (typeof source !== 'string' || source === '') {
    findings.push({ code: 'compose.shape', message: `${pathText(path)}: source: the name of a ${one} is missing`, path, hint: `source: one of the file's ${kind}` });
    return undefined;
  }
  if (!declared.names[kind].includes(source)) {
    const known = declared.names[kind];
    findings.push({
      code: `compose.undeclared-${one}`,
      message: `service ${JSON.stringify(svcName)} uses the ${one} ${JSON.stringify(source)}, which the file does not declare`,
      path: sourcePath,
      hint: didYouMean(source, known) ?? `declare it at the top level: ${kind}: { ${source}: { file: ./${source}.txt } }${known.length ? ` (${kind} of this file: ${shortList(known)})` : ''}`,
    });
    return undefined;
  }
  const decl = declared[kind][source];

  let target = typeof long?.target === 'string' && long.target !== '' ? long.target : kind === 'secrets' ? `/run/secrets/${source}` : `/${source}`;
  if (!target.startsWith('/')) target = kind === 'secrets' ? `/run/secrets/${target}` : `/${target}`;
  const ids: { uid?: number; gid?: number } = {};
  for (const key of ['uid', 'gid'] as const) {
    const v = long?.[key];
    if (v === undefined) continue;
    if ((typeof v === 'number' && Number.isInteger(v) && v >= 0) || (typeof v === 'string' && /^\d+$/.test(v))) ids[key] = Number(v);
    else findings.push({ code: 'compose.type', message: `${pathText([...path, key])}: expected a numeric ${key === 'uid' ? 'user' : 'group'} id, got ${JSON.stringify(v)}`, path: [...path, key], hint: `${key}: "1000"; a name means nothing on every host alike` });
  }
  let mode: number | undefined;
  if (long?.mode !== undefined) {
    mode = fileMode(long.mode, ctx.written([...path, 'mode']));
    if (mode === undefined) {
      bad = true;
      findings.push({ code: 'compose.type', message: `${pathText([...path, 'mode'])}: expected a file mode such as 0440, got ${JSON.stringify(long.mode)}`, path: [...path, 'mode'], hint: 'an octal number: 0400, 0440, 0444' });
    }
  }
  // A declaration with a problem of its own was reported where it is.
  if (!decl || bad || Object.keys(ids).length < ['uid', 'gid'].filter((k) => long?.[k] !== undefined).length) return undefined;
  return {
    kind: kind === 'configs' ? 'config' : 'secret',
    name: source,
    hostPath: `${kind}/${svcName}/${source}`,
    target,
    readOnly: true,
    dir: false,
    files: decl.from ? [{ rel: '', abs: decl.from, mode: 0, size: statSync(decl.from).size }] : [],
    ...(decl.content !== undefined ? { content: decl.content } : {}),
    ...ids,
    mode: mode ?? (kind === 'secrets' ? 0o400 : 0o444),
  };
}

/**
 * A mode as Compose reads it: `0440` in the file is octal (YAML 1.1, as compose-go's parser
 * reads it), a string is octal, a number written without a leading 0 is that number.
 */
export function fileMode(value: unknown, written: string | undefined): number | undefined {
  const text = typeof value === 'string' ? value.trim() : written !== undefined && /^0[0-7]+$/.test(written.trim()) ? written.trim() : undefined;
  if (text !== undefined) return /^0?o?[0-7]{1,4}$/.test(text) ? parseInt(text.replace(/^0?o/, ''), 8) : undefined;
  return typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= 0o7777 ? value : undefined;
}

interface RelativeBind {
  source: string;
  target: string;
  readOnly: boolean;
  selinux?: string;
  propagation?: string;
}

/** A volumes entry that binds a path relative to the Compose file (`./conf:/etc/app`, `.:/code`, `~/x:/y`). */
export function relativeBind(v: unknown): RelativeBind | undefined {
  if (typeof v === 'string') {
    const parts = v.split(':');
    if (parts.length < 2 || parts.length > 3 || (parts.length === 2 && !parts[1].startsWith('/'))) return undefined;
    const [source, target, mode = ''] = parts;
    if (!/^[.~]/.test(source)) return undefined;
    const modes = mode.split(',');
    const selinux = modes.find((m) => m === 'z' || m === 'Z');
    return { source, target, readOnly: modes.includes('ro'), ...(selinux ? { selinux } : {}) };
  }
  const m = asRecord(v);
  if (m.type !== 'bind' || typeof m.source !== 'string' || m.source === '' || m.source.startsWith('/') || typeof m.target !== 'string') return undefined;
  const b = asRecord(m.bind);
  return {
    source: m.source,
    target: m.target,
    readOnly: m.read_only === true,
    ...(typeof b.selinux === 'string' ? { selinux: b.selinux } : {}),
    ...(typeof b.propagation === 'string' ? { propagation: b.propagation } : {}),
  };
}

function volumeTarget(v: unknown): string | undefined {
  if (typeof v === 'string') {
    const parts = v.split(':');
    return parts.length === 1 || (parts.length === 2 && !parts[1].startsWith('/')) ? parts[0] : parts[1];
  }
  const t = asRecord(v).target;
  return typeof t === 'string' ? t : undefined;
}

/** Every file below a folder, links followed (each real folder once), within the limits. */
function walk(root: string): { ok: true; files: ShippedFile[] } | { ok: false; why: string } {
  const files: ShippedFile[] = [];
  let bytes = 0;
  const seen = new Set<string>();
  const visit = (dir: string, rel: string): string | undefined => {
    const real = realpathSync(dir);
    if (seen.has(real)) return undefined;
    seen.add(real);
    for (const name of readdirSync(dir).sort()) {
      const abs = join(dir, name);
      const r = rel ? `${rel}/${name}` : name;
      const st = statOrUndefined(abs);
      // A dangling link, a socket or a fifo is nothing to ship.
      if (!st) continue;
      if (st.isDirectory()) {
        const why = visit(abs, r);
        if (why) return why;
      } else if (st.isFile()) {
        files.push({ rel: r, abs, mode: st.mode & 0o7777, size: st.size });
        bytes += st.size;
        if (files.length > MAX_SHIPPED_FILES) return `more than ${MAX_SHIPPED_FILES} files`;
        if (bytes > MAX_SHIPPED_BYTES) return `more than ${MAX_SHIPPED_BYTES / 1024 / 1024} MiB`;
      }
    }
    return undefined;
  };
  const why = visit(root, '');
  return why ? { ok: false, why } : { ok: true, files };
}

/** What a path names, links followed; undefined for nothing (a dangling link names nothing). */
function statOrUndefined(p: string): Stats | undefined {
  try {
    return statSync(p);
  } catch {
    return undefined;
  }
}
