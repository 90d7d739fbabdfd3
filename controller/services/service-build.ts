// A service's `build:` (Compose's form: a directory, or {context, dockerfile, args, target,
// labels}) prepared the way an `image` task's build is (controller/images/prepare-spec.ts): the
// context scanned into content hashes in the run's blob registry, the content hash naming the
// tag the host looks for. The agent's image seam (agent/services/image.ts) builds from it.
import type { ServiceBuild } from '../../modules/lib/docker-image-spec.js';
import type { ServiceSpec } from '../../modules/service-spec.js';
import type { Service } from '../../schema/service.js';
import type { BlobRegistry } from '../blobs.js';
import { badInput, err, ok, type Result } from '../errors.js';
import type { BuildInput } from '../images/context.js';
import { prepareImageSpec } from '../images/prepare-spec.js';

export interface ServiceBuildContext {
  blobs: BlobRegistry;
  baseDir: string;
  /** file:line:col of a key of the service. */
  where: (key: Array<string | number>) => string;
  /** Image IDs the host had when it connected. */
  hostImages?: string[];
}

/** The ServiceBuild for `spec.build` (the playbook's form, already rendered); undefined without one. */
export function prepareServiceBuild(spec: ServiceSpec, svc: Service, ctx: ServiceBuildContext): Result<ServiceBuild | undefined> {
  const built = Object.entries(svc.sidecars ?? {}).find(([, sc]) => (sc as { build?: unknown }).build !== undefined);
  if (built) {
    return err(badInput('service.sidecar-build', `sidecar ${built[0]}: build is not supported for sidecars yet`, ctx.where(['sidecars', built[0], 'build']), 'build its image with an image task before the play\'s services, and name it with image:'));
  }
  if (spec.build === undefined) return ok(undefined);
  const build = spec.build as string | BuildInput;
  // Named like the image task names its image: the name the containers say they run.
  const image = prepareImageSpec({ name: spec.main.image, build }, { blobs: ctx.blobs, baseDir: ctx.baseDir, where: ctx.where(['build']), hostImages: ctx.hostImages }, { tagName: true });
  if (!image.ok) return image;
  const policy = (svc as { pull_policy?: string }).pull_policy;
  return ok({ image: image.value, preferExisting: Boolean(svc.image) && policy !== 'build' });
}
