// The one seam through which a service gets its image. Today the image must already be on the
// host. When ensureImage (agent/docker/, issue 5: build, ship or pull by content hash) is wired
// in, it plugs in here and nowhere else: its changes run before the service's own, and the id
// it produces is the one the containers are labelled with.
import type Docker from 'dockerode';
import type { Change } from '../../modules/contract.js';
import type { WireError } from '../../protocol/agent-protocol.js';

export interface ServiceImage {
  /** Steps that make the image (build, load, pull); empty when it is in place. */
  changes: Change[];
  /** The image id now, when the image is in place. */
  id?: string;
  /** The image id once `changes` ran. */
  result(): string | undefined;
}

export type ImageResult = { ok: true; image: ServiceImage } | { ok: false; error: WireError };

/** An id that stands for "the image the image changes will make": never equal to a real one. */
export const PENDING_IMAGE = 'pending';

export async function imageFor(docker: Docker, ref: string, build: unknown): Promise<ImageResult> {
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
      message: build === undefined ? `image ${ref} not present on host; build it or add build:` : `image ${ref} not present on host, and building images for services is not wired in yet (use an image task first)`,
    },
  };
}
