// From what a playbook says about an image (the image module's keys, or a service's build: and
// image:) to the ImageSpec the agent acts on. The service planner calls this too
// (controller/services/service-build.ts); containers then run the image by ID.
import { createHash } from 'node:crypto';
import { resolve } from 'node:path';
import { LABEL_CONTEXT_HASH, LABEL_IMAGE, LABEL_SOURCE, contentTag, repositoryOf, type ImageSource, type ImageSpec, type RegistryAuth, type ShippedImage } from '../../modules/lib/docker-image-spec.js';
import type { BlobRegistry } from '../blobs.js';
import { ExitCode, badInput, err, ok, type Result } from '../errors.js';
import { normalizeBuild, prepareBuild, type BuildInput } from './context.js';
import { buildOnController, inspectOnController, saveOnController, type EngineImage } from './controller-engine.js';
import { shipSavedImage } from './saved-image.js';

export interface ImageInput {
  name: string;
  build?: string | BuildInput;
  builder?: 'host' | 'controller';
  ship?: boolean;
  /** true: check the registry every run; false: never pull; absent: pull when missing. */
  pull?: boolean;
  auth?: RegistryAuth;
  keep?: number;
}

export interface SpecContext {
  blobs: BlobRegistry;
  /** Folder of the playbook: relative contexts start here. */
  baseDir: string;
  /** file:line:col of the task or service, for messages. */
  where: string;
  /** Image IDs the host had when it connected (its facts): what it has is not saved for it. */
  hostImages?: string[];
}

export function prepareImageSpec(input: ImageInput, ctx: SpecContext, opts: { tagName: boolean }): Result<ImageSpec> {
  const conflict = (message: string, hint?: string) => err(badInput('image.conflicting-keys', message, ctx.where, hint));
  if (input.build !== undefined && input.ship) return conflict('build and ship exclude each other', 'to build once and ship the result, use build with builder: controller');
  if (input.build !== undefined && input.pull !== undefined) return conflict('pull applies to images from a registry, not to builds');
  if (input.ship && input.pull !== undefined) return conflict('ship and pull exclude each other');
  if (input.builder !== undefined && input.build === undefined) return conflict('builder needs build');

  let source: ImageSource;
  if (input.build !== undefined) {
    const b = normalizeBuild(input.build);
    if (input.builder === 'controller') {
      if (b.remote_src) return conflict('builder: controller builds from a context on the controller; remote_src names one on the host');
      const shipped = buildAndShip(input.name, b, ctx);
      if (!shipped.ok) return shipped;
      source = { kind: 'ship', image: shipped.value };
    } else {
      const spec = prepareBuild(b, ctx.blobs, ctx.baseDir, ctx.where);
      if (!spec.ok) return spec;
      source = { kind: 'build', build: spec.value };
    }
  } else if (input.ship) {
    const found = inspectOnController(input.name, ctx.where);
    if (!found.ok) return found;
    if (!found.value) return err({ code: 'image.not-on-controller', message: `ship: image ${input.name} is not on the controller's engine`, where: ctx.where, hint: 'build it there first, or use build with builder: controller', exit: ExitCode.failed });
    const shipped = ship(found.value, [], input.name, ctx);
    if (!shipped.ok) return shipped;
    source = { kind: 'ship', image: shipped.value };
  } else {
    source = { kind: 'registry', pull: input.pull === true ? 'always' : input.pull === false ? 'never' : 'missing' };
  }
  return ok({ name: input.name, source, tagName: opts.tagName, ...(input.auth ? { auth: input.auth } : {}), ...(input.keep !== undefined ? { keep: input.keep } : {}) });
}

/** Builds on the controller's engine unless its content tag is there already, then ships it. */
function buildAndShip(name: string, b: BuildInput, ctx: SpecContext): Result<ShippedImage> {
  // The context is hashed (not registered: hosts receive layers, never the context).
  const spec = prepareBuild(b, null, ctx.baseDir, ctx.where);
  if (!spec.ok) return spec;
  const s = spec.value;
  const bases: Array<[string, string]> = [];
  for (const ref of s.bases) {
    const info = inspectOnController(ref, ctx.where);
    if (!info.ok) return info;
    bases.push([ref, info.value?.Id ?? 'absent']);
  }
  const hash = s.hash!;
  const tag = contentTag(name, bases.length ? createHash('sha256').update(JSON.stringify({ hash, bases })).digest('hex') : hash);
  let image = inspectOnController(tag, ctx.where);
  if (!image.ok) return image;
  if (!image.value) {
    const labels = { ...s.labels, [LABEL_IMAGE]: repositoryOf(name), [LABEL_CONTEXT_HASH]: hash, [LABEL_SOURCE]: s.origin };
    image = buildOnController({ contextDir: resolve(ctx.baseDir, b.context), dockerfile: s.dockerfile, tag, args: s.args, target: s.target, labels }, ctx.where);
    if (!image.ok) return image;
  }
  return ship(image.value!, [tag], `${name} (built on the controller from ${s.origin})`, ctx);
}

const saved = new WeakMap<BlobRegistry, Map<string, Result<ShippedImage>>>();

/**
 * `docker save` once per image per run, its config and layers into the blob registry; not at all
 * for a host that already has the image (its agent finds it by ID and asks for nothing).
 */
function ship(image: EngineImage, tags: string[], origin: string, ctx: SpecContext): Result<ShippedImage> {
  const id = image.Id;
  if (ctx.hostImages?.includes(id)) {
    const layers = (image.RootFS.Layers ?? []).map((diffId) => ({ diffId, size: 0 }));
    return ok({ id, config: { sha256: id.replace(/^sha256:/, ''), size: 0 }, layers, tags, origin });
  }
  let cache = saved.get(ctx.blobs);
  if (!cache) saved.set(ctx.blobs, (cache = new Map()));
  const key = JSON.stringify([id, tags]);
  const hit = cache.get(key);
  if (hit) return hit;
  const archive = saveOnController(id, ctx.where);
  let r: Result<ShippedImage>;
  if (!archive.ok) r = archive;
  else {
    const s = shipSavedImage(archive.value, ctx.blobs, tags, origin);
    r = s.ok ? ok(s.value) : err({ code: 'image.save-unreadable', message: `cannot ship ${origin}: ${s.message}`, where: ctx.where, exit: ExitCode.failed });
  }
  cache.set(key, r);
  return r;
}
