// Builds on the host with the engine's classic builder (BuildKit is not assumed). The image's
// tag names everything that goes into it: the context's content hash, how it is built, and the
// IDs of its base images on this host. A host that has the tag builds nothing and fetches
// nothing; otherwise the agent fetches the context files it lacks from the controller (by
// content hash, so a changed file sends only that file), tars them deterministically and builds.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import pLimit from 'p-limit';
import type { ModuleContext } from '../../modules/contract.js';
import { buildHash, scanContext } from '../../modules/lib/docker-context.js';
import { dockerfileBases } from '../../modules/lib/docker-dockerfile.js';
import {
  LABEL_CONTEXT_HASH,
  LABEL_IMAGE,
  LABEL_SOURCE,
  contentTag,
  repositoryOf,
  type BuildSpec,
  type ContextEntry,
} from '../../modules/lib/docker-image-spec.js';
import type { WireError } from '../../protocol/agent-protocol.js';
import { contextTar } from './context-tar.js';
import { dockerError, engine, inspectImage, type ImageInfo, type Read } from './engine.js';
import { followStream, streamLines } from './stream.js';

export interface PlannedBuild {
  tag: string;
  /** The image when the host already has the tag: nothing to build. */
  present?: ImageInfo;
  /** For the change summary: "apps/web (12 files, 4.1 kB)". */
  describe: string;
  build(ctx: ModuleContext): Promise<Read<ImageInfo>>;
}

type Resolved = { entries: ContextEntry[]; hash: string; bases: string[]; root?: string; bytes: number };

/** The context's entries and hash: sent by the controller, or scanned here for a host directory. */
function resolveContext(b: BuildSpec): Read<Resolved> {
  if (b.context.from === 'controller') {
    return { ok: true, value: { entries: b.context.entries, hash: b.hash ?? buildHash({ contextHash: b.context.hash, dockerfile: b.dockerfile, args: b.args, target: b.target, labels: b.labels }), bases: b.bases, bytes: b.context.bytes } };
  }
  const root = b.context.path;
  const scanned = scanContext(root, b.dockerfile);
  if (!scanned.ok) return { ok: false, error: { code: scanned.code, message: scanned.message } };
  const text = readFileSync(join(root, b.dockerfile), 'utf8');
  const hash = buildHash({ contextHash: scanned.value.hash, dockerfile: b.dockerfile, args: b.args, target: b.target, labels: b.labels });
  return { ok: true, value: { entries: scanned.value.entries, hash, bases: dockerfileBases(text, b.args), root, bytes: scanned.value.bytes } };
}

export async function planBuild(name: string, b: BuildSpec): Promise<Read<PlannedBuild>> {
  const resolved = resolveContext(b);
  if (!resolved.ok) return resolved;
  const { entries, hash, bases, root, bytes } = resolved.value;
  // The base images as this host has them: a rebuilt lab/busybox means a new tag for its users.
  const baseIds: Array<[string, string]> = [];
  for (const ref of bases) {
    const info = await inspectImage(ref);
    if (!info.ok) return info;
    baseIds.push([ref, info.value?.Id ?? 'absent']);
  }
  const tag = contentTag(name, baseIds.length ? createHash('sha256').update(JSON.stringify({ hash, bases: baseIds })).digest('hex') : hash);
  const present = await inspectImage(tag);
  if (!present.ok) return present;
  const files = entries.filter((e): e is Extract<ContextEntry, { type: 'file' }> => e.type === 'file');
  return {
    ok: true,
    value: {
      tag,
      present: present.value,
      describe: `${b.origin} (${files.length} file${files.length === 1 ? '' : 's'}, ${formatBytes(bytes)})`,
      build: (ctx) => runBuild(name, b, { tag, hash, entries, root, files }, ctx),
    },
  };
}

async function runBuild(
  name: string,
  b: BuildSpec,
  r: { tag: string; hash: string; entries: ContextEntry[]; root?: string; files: Array<Extract<ContextEntry, { type: 'file' }>> },
  ctx: ModuleContext,
): Promise<Read<ImageInfo>> {
  // Files of a controller context come from the host's blob store, fetched only if missing.
  const paths = new Map<string, string>();
  if (!r.root) {
    const wanted = [...new Set(r.files.map((f) => f.sha256))];
    const limit = pLimit(8);
    let done = 0;
    let failure: WireError | undefined;
    await Promise.all(
      wanted.map((sha) =>
        limit(async () => {
          if (failure) return;
          const got = await ctx.blob(sha);
          if (!got.ok) failure ??= got.error;
          else paths.set(sha, got.path);
          ctx.progress('build context', ++done, wanted.length);
        }),
      ),
    );
    if (failure) return { ok: false, error: { code: 'image.context-fetch', message: `cannot fetch the build context of ${name}: ${failure.message}` } };
  }
  const root = r.root;
  const tar = contextTar(r.entries, (f) => (root ? join(root, f.path) : paths.get(f.sha256)!));
  const d = await engine();
  const labels = { ...b.labels, [LABEL_IMAGE]: repositoryOf(name), [LABEL_CONTEXT_HASH]: r.hash, [LABEL_SOURCE]: b.origin };
  const tail: string[] = [];
  let stream: NodeJS.ReadableStream;
  try {
    stream = await d.buildImage(tar, { t: r.tag, dockerfile: b.dockerfile, buildargs: b.args, target: b.target, labels, rm: true, forcerm: true, version: '1', abortSignal: ctx.signal });
  } catch (e) {
    return { ok: false, error: dockerError('image.build-failed', `build of ${name} failed`, e) };
  }
  const followed = await followStream(stream, (e) => {
    for (const line of streamLines(e.stream)) {
      ctx.output('stdout', line);
      tail.push(line);
      if (tail.length > 15) tail.shift();
    }
  });
  if (!followed.ok) return { ok: false, error: { code: 'image.build-failed', message: `build of ${name} failed: ${followed.message}`, detail: tail.join('\n') } };
  const info = await inspectImage(r.tag);
  if (!info.ok) return info;
  if (!info.value) return { ok: false, error: { code: 'image.build-failed', message: `build of ${name} ended without an image tagged ${r.tag}`, detail: tail.join('\n') } };
  return { ok: true, value: info.value };
}

export function formatBytes(n: number): string {
  if (n < 1000) return `${n} B`;
  const units = ['kB', 'MB', 'GB', 'TB'];
  let v = n;
  let i = -1;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return `${v.toFixed(v < 10 ? 1 : 0)} ${units[i]}`;
}
