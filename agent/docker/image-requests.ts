// `image.present` and `image.digest`: what the controller asks before a play whose services pull
// from a registry. Neither changes anything on the host.
import type { ImageRequest, WireError } from '../../protocol/agent-protocol.js';
import { inspectImage } from './engine.js';
import { digestRef, remoteDigest } from './registry.js';

type Answer = { ok: true; result: unknown } | { ok: false; error: WireError };

/** A registry that does not answer within this time leaves the tag unresolved (hosts that must pull then fail). */
const DIGEST_TIMEOUT_MS = 60_000;

export async function serveImageRequest(req: ImageRequest): Promise<Answer> {
  switch (req.method) {
    case 'image.present': {
      const present: string[] = [];
      for (const ref of req.params.refs) {
        const r = await inspectImage(ref);
        // No engine (yet): the host has none of them.
        if (!r.ok) return { ok: true, result: { present: [], engine: false } };
        if (r.value) present.push(ref);
      }
      return { ok: true, result: { present, engine: true } };
    }
    case 'image.digest': {
      const r = await remoteDigest(req.params.ref, req.params.auth, DIGEST_TIMEOUT_MS);
      return r.ok ? { ok: true, result: { digest: digestRef(req.params.ref, r.value) } } : { ok: false, error: r.error };
    }
  }
}
