// The first changes of `services.converge`: the files a service binds from its project's folder
// (a Compose file's relative bind mounts, configs and secrets: controller/compose/project-files.ts),
// written where the host's copy differs from what the controller sent, in content, mode or
// owner. The content comes by hash from the blob store, as copy's does. A file this service
// shipped before that no service of the project ships any more is removed; what else is in
// the folder (what a container wrote into a bind) is left alone.
import { constants, lstatSync, readFileSync, readdirSync, unlinkSync, type Stats } from 'node:fs';
import { dirname, join } from 'node:path';
import { failed, type Change, type ModuleContext } from '../../modules/contract.js';
import { writeAtomic, writeAtomicSync } from '../../modules/lib/atomic-write.js';
import { sha256File } from '../../modules/lib/hash.js';
import { formatMode } from '../../modules/lib/mode.js';
import { ioError, openDir } from '../../modules/lib/trusted-dir.js';
import type { ProjectFile, ServiceSpec } from '../../modules/service-spec.js';
import type { WireError } from '../../protocol/agent-protocol.js';
import { berthDir, fileName } from '../registry/paths.js';

/** Where projects keep what berth ships for them: <berth's directory>/projects/<project>/. */
export const projectsDir = (): string => join(berthDir(), 'projects');

/** What a service shipped last, by project: read to know what it no longer ships. */
const manifestDir = (project: string) => join(projectsDir(), project, '.shipped');
const manifestPath = (project: string, service: string) => join(manifestDir(project), `${fileName(service)}.json`);

const READ_NOFOLLOW = constants.O_RDONLY | constants.O_NOFOLLOW;

/** A path below the projects folder as the controller names it: inside the service's own project, no way out. */
export function projectPath(project: string, rel: string): string | undefined {
  const parts = rel.split('/');
  if (parts[0] !== project || parts.length < 2 || parts.some((p) => p === '' || p === '.' || p === '..' || p.includes('\0'))) return undefined;
  return join(projectsDir(), rel);
}

export async function projectFileChanges(spec: ServiceSpec, ctx: ModuleContext): Promise<{ ok: true; changes: Change[] } | { ok: false; error: WireError }> {
  const files = spec.files ?? [];
  const manifest = manifestPath(spec.playbook, spec.service);
  const before = readManifest(manifest);
  if (files.length === 0 && before === undefined) return { ok: true, changes: [] };

  const changes: Change[] = [];
  const uid = process.getuid?.() ?? 0;
  const gid = process.getgid?.() ?? 0;
  for (const f of files) {
    const full = projectPath(spec.playbook, f.path);
    if (!full) return failed('services.project-path', `the controller sent a file outside project ${spec.playbook}'s folder: ${JSON.stringify(f.path)}`);
    const link = linkOnTheWay(spec.playbook, full);
    if (link) return failed('services.project-link', `${link} is a symlink: berth does not write through links in a project's folder`, 'something (a container writing into a bind mount?) put it there: remove it, and berth writes the file again');
    const st = lstatSync(full, { throwIfNoEntry: false });
    const cause = await differs(full, st, f, uid, gid);
    if (!cause) continue;
    changes.push({
      summary: `write ${full} (${f.size} bytes, mode ${formatMode(f.mode)})`,
      cause,
      apply: async () => {
        const blob = await ctx.blob(f.sha256);
        if (!blob.ok) return blob;
        const dir = openDir(dirname(full), { create: { mode: 0o755 } });
        if (!dir.ok) return dir;
        dir.value.close();
        return writeAtomic(full, { file: blob.path }, { mode: f.mode, uid: f.uid, gid: f.gid, replaceLink: st?.isSymbolicLink() });
      },
    });
  }

  // Files the service shipped before and no service of the project ships now.
  const now = new Set(files.map((f) => f.path));
  const others = otherManifests(spec.playbook, spec.service);
  for (const rel of before ?? []) {
    if (now.has(rel) || others.has(rel)) continue;
    const full = projectPath(spec.playbook, rel);
    if (!full || linkOnTheWay(spec.playbook, full)) continue;
    const st = lstatSync(full, { throwIfNoEntry: false });
    if (!st?.isFile()) continue;
    changes.push({
      summary: `remove ${full}`,
      cause: 'no longer shipped',
      apply: async () => {
        try {
          unlinkSync(full);
          return { ok: true };
        } catch (e) {
          return { ok: false, error: ioError(`cannot remove ${full}`, e) };
        }
      },
    });
  }

  const list = [...now].sort();
  const record = () => {
    if (list.length === 0) {
      try {
        unlinkSync(manifest);
      } catch {
        // Never written, or gone already.
      }
      return { ok: true as const };
    }
    const dir = openDir(manifestDir(spec.playbook), { create: { mode: 0o700 } });
    if (!dir.ok) return dir;
    dir.value.close();
    return writeAtomicSync(manifest, JSON.stringify(list), 0o600);
  };
  const same = before !== undefined && before.length === list.length && before.every((p, i) => p === list[i]);
  if (changes.length === 0) {
    // Bookkeeping only (the files are as they should be): never in check mode.
    if (!same && !ctx.check) {
      const r = record();
      if (!r.ok) return r;
    }
    return { ok: true, changes };
  }
  // The list is written once the files are: a run cut short keeps the old list, whose files stay known.
  const last = changes[changes.length - 1];
  changes[changes.length - 1] = {
    ...last,
    apply: async () => {
      const r = await last.apply();
      return r.ok ? record() : r;
    },
  };
  return { ok: true, changes };
}

async function differs(full: string, st: Stats | undefined, f: ProjectFile, uid: number, gid: number): Promise<string | undefined> {
  if (!st) return 'missing';
  if (!st.isFile()) return st.isSymbolicLink() ? 'a symlink is in the way' : 'something else is in the way';
  if (st.size !== f.size || (await sha256File(full, READ_NOFOLLOW).catch(() => '')) !== f.sha256) return 'content differs';
  if ((st.mode & 0o7777) !== f.mode) return `mode ${formatMode(st.mode & 0o7777)}, not ${formatMode(f.mode)}`;
  if (st.uid !== (f.uid ?? uid) || st.gid !== (f.gid ?? gid)) return `owner ${st.uid}:${st.gid}, not ${f.uid ?? uid}:${f.gid ?? gid}`;
  return undefined;
}

/** The first directory below the project's folder on the way to `full` that is a symlink. */
function linkOnTheWay(project: string, full: string): string | undefined {
  let at = join(projectsDir(), project);
  const rest = full.slice(at.length + 1).split('/').slice(0, -1);
  for (const part of ['', ...rest]) {
    if (part) at = join(at, part);
    const st = lstatSync(at, { throwIfNoEntry: false });
    if (!st) return undefined;
    if (st.isSymbolicLink()) return at;
  }
  return undefined;
}

function readManifest(path: string): string[] | undefined {
  try {
    const v = JSON.parse(readFileSync(path, 'utf8')) as unknown;
    return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
  } catch {
    return undefined;
  }
}

/** Every file the project's other services ship. */
function otherManifests(project: string, service: string): Set<string> {
  const out = new Set<string>();
  let names: string[] = [];
  try {
    names = readdirSync(manifestDir(project));
  } catch {
    return out;
  }
  for (const n of names) {
    if (n === `${fileName(service)}.json` || !n.endsWith('.json')) continue;
    for (const p of readManifest(join(manifestDir(project), n)) ?? []) out.add(p);
  }
  return out;
}
