// What finding a service's image gives: the image (with the steps that make it), or why not. Its
// own file so that image.ts and pull-image.ts, which image.ts calls, import it without importing
// each other.
import type { Change } from '../../modules/contract.js';
import type { WireError } from '../../protocol/agent-protocol.js';

export interface ServiceImage {
  /** Steps that make the image (build, load, pull); empty when it is in place. */
  changes: Change[];
  /** The image id now, when the image is in place. */
  id?: string;
  /** The image id once `changes` ran. */
  result(): string | undefined;
  /** repository@sha256 of an image from a registry: what the release records. */
  digest?: string;
}

export type ImageResult = { ok: true; image: ServiceImage } | { ok: false; error: WireError };
