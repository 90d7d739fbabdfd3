// The one seam through which a service gets its image: a recorded release's image by id, the
// service's `build:` built the way the `image` task builds (agent/docker/ensure-image.ts: the
// content-hash tag, skipped when the host has it, then tagged as the service's image name and
// older builds pruned), an image from a registry by its pull_policy (pull-image.ts), or the
// named image already on the host. Build and pull changes run before the service's own, and the
// id they produce is the one the containers are created from and labelled with.
import type Docker from 'dockerode';
import type { ModuleContext } from '../../modules/contract.js';
import { LABEL_IMAGE, isServiceBuild } from '../../modules/lib/docker-image-spec.js';
import type { PullSpec } from '../../modules/service-spec.js';
import type { ImageResult } from './image-result.js';
import { pullFor } from './pull-image.js';

export type { ImageResult, ServiceImage } from './image-result.js';

/** An id that stands for "the image the image changes will make": never equal to a real one. */
export const PENDING_IMAGE = 'pending';

/**
 * `ctx`: the task's context, which a build or a pull needs (its context files, progress, check
 * mode). `pull`: how the image comes from a registry; without it, the host must have it.
 */
export async function imageFor(docker: Docker, ref: string, build: unknown, pinned?: string, ctx?: ModuleContext, pull?: PullSpec): Promise<ImageResult> {
  if (pinned) {
    // A recorded release runs exactly the image it ran: by id, never by a tag that may have moved.
    try {
      const info = await docker.getImage(pinned).inspect();
      return { ok: true, image: { changes: [], id: info.Id, result: () => info.Id } };
    } catch (e) {
      return { ok: false, error: { code: 'services.release-image-gone', message: `image ${ref} of this release (${pinned.replace(/^sha256:/, '').slice(0, 12)}) is no longer on the host: ${(e as Error).message}`, detail: 'pick a newer release (berth releases SERVICE), or apply the playbook to build it again' } };
    }
  }
  if (build !== undefined) {
    const built = await buildFor(docker, ref, build, ctx);
    if (built) return built;
  }
  if (pull && build === undefined) return pullFor(ref, pull, ctx);
  try {
    const info = await docker.getImage(ref).inspect();
    return { ok: true, image: { changes: [], id: info.Id, result: () => info.Id } };
  } catch (e) {
    if ((e as { statusCode?: number }).statusCode !== 404) return { ok: false, error: { code: 'services.engine', message: `cannot inspect image ${ref}: ${(e as Error).message}` } };
  }
  return {
    ok: false,
    error: {
      code: 'services.image-missing',
      message: build === undefined ? `image ${ref} not present on host; build it or add build:` : `image ${ref} not present on host`,
    },
  };
}

/**
 * The image a service's build makes, as the `image` task would make it; undefined when the
 * service names an image berth did not build and the host has it (Compose: `image:` wins).
 */
async function buildFor(docker: Docker, ref: string, build: unknown, ctx: ModuleContext | undefined): Promise<ImageResult | undefined> {
  if (!isServiceBuild(build)) return { ok: false, error: { code: 'services.build-unprepared', message: `service image ${ref}: the controller did not prepare its build` } };
  if (!ctx) return { ok: false, error: { code: 'services.build-unprepared', message: `service image ${ref}: cannot build here` } };
  if (build.preferExisting) {
    let labels: Record<string, string> | undefined;
    try {
      labels = (await docker.getImage(ref).inspect()).Config?.Labels ?? {};
    } catch (e) {
      if ((e as { statusCode?: number }).statusCode !== 404) return { ok: false, error: { code: 'services.engine', message: `cannot inspect image ${ref}: ${(e as Error).message}` } };
    }
    if (labels && labels[LABEL_IMAGE] === undefined) return undefined;
  }
  // Loaded on first use, as the image module loads it.
  const { planImage } = await import('../docker/ensure-image.js');
  const plan = await planImage(build.image, ctx);
  if (!plan.ok) return { ok: false, error: plan.error };
  const { changes, result } = plan.value;
  // In place (a tag to move or old builds to prune do not change it): its id now; else once built.
  return { ok: true, image: { changes, id: result()?.id, result: () => result()?.id } };
}
