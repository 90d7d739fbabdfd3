// A build context as content: the files docker build would receive (.dockerignore applied the
// way Docker applies it, via @balena/dockerignore, a port of Docker's own matcher), in sorted
// order, with modes normalised to 0644/0755 (dirs 0755) so that two checkouts of the same tree
// give the same hash whatever their umask or mtimes. The controller scans contexts next to the
// playbook; the agent scans contexts that live on the host (remote_src). Synchronous on purpose:
// the controller's task preparation is.
import { createHash } from 'node:crypto';
import { lstatSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import dockerignoreModule from '@balena/dockerignore';
import type { ContextEntry, ScannedContext } from './docker-image-spec.js';

// The package is CommonJS (module.exports = factory) while its types declare a default export.
type Factory = typeof dockerignoreModule.default;
const dockerignore: Factory = ((dockerignoreModule as unknown as { default?: Factory }).default ?? dockerignoreModule) as Factory;

export type ScanResult = { ok: true; value: ScannedContext } | { ok: false; code: string; message: string };

/** sha256 and size of a file; the controller's version also registers it as a blob. */
export type HashFile = (absPath: string) => { sha256: string; size: number };

export const hashFileSync: HashFile = (p) => {
  const buf = readFileSync(p);
  return { sha256: createHash('sha256').update(buf).digest('hex'), size: buf.length };
};

/** Normalises a Dockerfile path given relative to the context ("./Dockerfile" -> "Dockerfile"). */
export function contextPath(p: string): string | undefined {
  const parts: string[] = [];
  for (const part of p.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') return undefined;
    parts.push(part);
  }
  return parts.length ? parts.join('/') : undefined;
}

export function scanContext(root: string, dockerfile: string, hashFile: HashFile = hashFileSync): ScanResult {
  const rootStat = lstatSafe(root);
  if (!rootStat?.isDirectory()) return { ok: false, code: 'image.context-missing', message: `build context ${root} is not a directory` };
  let patterns: string[] = [];
  try {
    patterns = readFileSync(join(root, '.dockerignore'), 'utf8').split('\n');
  } catch {
    // No .dockerignore: everything goes.
  }
  const ig = dockerignore({ ignorecase: false }).add(patterns);
  // Docker never leaves out the Dockerfile and .dockerignore (the builder needs them).
  const always = new Set([dockerfile, '.dockerignore']);
  // With an exception ("!keep/this"), an ignored directory may still hold included files.
  const exceptions = patterns.some((p) => p.trim().startsWith('!'));
  const entries: ContextEntry[] = [];
  let bytes = 0;

  const walk = (dirAbs: string, dirRel: string) => {
    for (const name of readdirSync(dirAbs).sort()) {
      const rel = dirRel ? `${dirRel}/${name}` : name;
      const abs = join(dirAbs, name);
      const st = lstatSafe(abs);
      if (!st) continue;
      const ignored = !always.has(rel) && ig.ignores(rel);
      if (st.isDirectory()) {
        if (ignored && !exceptions) continue;
        if (!ignored) entries.push({ type: 'dir', path: rel, mode: 0o755 });
        walk(abs, rel);
      } else if (ignored) {
        continue;
      } else if (st.isFile()) {
        const { sha256, size } = hashFile(abs);
        entries.push({ type: 'file', path: rel, mode: st.mode & 0o111 ? 0o755 : 0o644, sha256, size });
        bytes += size;
      } else if (st.isSymbolicLink()) {
        entries.push({ type: 'symlink', path: rel, target: readlinkSync(abs) });
      }
      // Sockets, fifos and devices are not part of a build context (docker skips them too).
    }
  };
  try {
    walk(root, '');
  } catch (e) {
    return { ok: false, code: 'image.context-unreadable', message: `cannot read build context ${root}: ${(e as Error).message}` };
  }
  if (!entries.some((e) => e.type === 'file' && e.path === dockerfile)) {
    return { ok: false, code: 'image.no-dockerfile', message: `build context ${root} has no ${dockerfile}` };
  }
  entries.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return { ok: true, value: { entries, bytes, hash: contextHash(entries) } };
}

export function contextHash(entries: ContextEntry[]): string {
  const h = createHash('sha256');
  for (const e of entries) {
    h.update(JSON.stringify(e.type === 'file' ? [e.type, e.path, e.mode, e.sha256] : e.type === 'dir' ? [e.type, e.path, e.mode] : [e.type, e.path, e.target]));
    h.update('\n');
  }
  return h.digest('hex');
}

/** The hash that names a build: what the context holds and how it is built. */
export function buildHash(b: { contextHash: string; dockerfile: string; args: Record<string, string>; target?: string; labels: Record<string, string> }): string {
  const sorted = (m: Record<string, string>) => Object.keys(m).sort().map((k) => [k, m[k]]);
  return createHash('sha256')
    .update(JSON.stringify({ v: 1, context: b.contextHash, dockerfile: b.dockerfile, args: sorted(b.args), target: b.target ?? null, labels: sorted(b.labels) }))
    .digest('hex');
}

function lstatSafe(p: string) {
  try {
    return lstatSync(p);
  } catch {
    return undefined;
  }
}
