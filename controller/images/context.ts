// A build context on the controller, as the plan carries it: every file registered in the run's
// blob registry and named by its hash. Hosts fetch only the files they lack, and only when they
// must build; a changed file sends only itself. A context is scanned once per run, however many
// hosts and tasks use it.
import { readFileSync, statSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { buildHash, contextPath, hashFileSync, scanContext } from '../../modules/lib/docker-context.js';
import { dockerfileBases } from '../../modules/lib/docker-dockerfile.js';
import type { BuildSpec } from '../../modules/lib/docker-image-spec.js';
import type { BlobRegistry } from '../blobs.js';
import { badInput, err, ok, type Result } from '../errors.js';

/** The build options of a task or service, in Compose's form (args and labels already rendered). */
export interface BuildInput {
  context: string;
  dockerfile?: string;
  args?: Record<string, string | number | boolean> | string[];
  target?: string;
  labels?: Record<string, string | number | boolean> | string[];
  remote_src?: boolean;
}

/** Compose's two forms of args and labels ({K: v} or ["K=v"]) as one map of strings. */
export function keyValues(v: BuildInput['args']): Record<string, string> {
  if (v === undefined) return {};
  if (Array.isArray(v)) return Object.fromEntries(v.map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]));
  return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, String(x)]));
}

export const normalizeBuild = (b: string | BuildInput): BuildInput => (typeof b === 'string' ? { context: b } : b);

const scans = new WeakMap<BlobRegistry, Map<string, Result<BuildSpec>>>();
const unregistered = new Map<string, Result<BuildSpec>>();

/**
 * What a context looks like without reading any file (names, sizes, mtimes, inodes): a scan is
 * reused only while this is unchanged, so the same run (or a long-lived test agent) sees edits.
 */
function fingerprint(root: string, dockerfile: string): string {
  const quick = scanContext(root, dockerfile, (p) => {
    const st = statSync(p);
    return { sha256: `${st.size}:${st.mtimeMs}:${st.ino}`, size: st.size };
  });
  return quick.ok ? quick.value.hash : 'unreadable';
}

/**
 * The BuildSpec of a build, its controller-side context scanned and its files registered as
 * blobs (with `blobs` null: hashed only, for a build on the controller itself).
 */
export function prepareBuild(input: BuildInput, blobs: BlobRegistry | null, baseDir: string, where: string): Result<BuildSpec> {
  const dockerfile = contextPath(input.dockerfile ?? 'Dockerfile');
  if (!dockerfile) return err(badInput('image.bad-dockerfile', `dockerfile "${input.dockerfile}" must be a path inside the context`, where, 'a Dockerfile outside the context cannot be sent with it'));
  const args = keyValues(input.args);
  const labels = keyValues(input.labels);
  const common = { dockerfile, args, target: input.target, labels };
  if (input.remote_src) {
    if (!isAbsolute(input.context)) return err(badInput('image.remote-relative', `with remote_src, context "${input.context}" must be an absolute path on the host`, where));
    // The host scans it and reads the Dockerfile there.
    return ok({ ...common, context: { from: 'host', path: input.context }, origin: input.context, bases: [] });
  }
  const root = resolve(baseDir, input.context);
  const key = JSON.stringify([root, dockerfile, args, input.target, labels, fingerprint(root, dockerfile)]);
  let cache = blobs ? scans.get(blobs) : unregistered;
  if (!cache) scans.set(blobs!, (cache = new Map()));
  const hit = cache.get(key);
  if (hit) return hit;
  // Read here rather than through blobs.addFile, whose per-path memo would keep a file's first
  // content for the registry's lifetime; the fingerprint above already spares re-reading.
  const scanned = scanContext(root, dockerfile, blobs ? (p) => blobs.add(readFileSync(p), { share: true }) : hashFileSync);
  let r: Result<BuildSpec>;
  if (!scanned.ok) {
    r = err(badInput(scanned.code, scanned.message, where, 'context is relative to the folder of the playbook'));
  } else {
    const bases = dockerfileBases(readFileSync(join(root, dockerfile), 'utf8'), args);
    const hash = buildHash({ contextHash: scanned.value.hash, ...common });
    r = ok({ ...common, context: { from: 'controller', ...scanned.value }, origin: input.context, bases, hash });
  }
  cache.set(key, r);
  return r;
}

