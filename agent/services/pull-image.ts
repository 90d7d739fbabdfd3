// A service's image from a registry, by Compose's pull_policy: `never` uses what the host has,
// `missing` pulls only when the host lacks the reference, `always` asks the registry every run
// and pulls when its digest is not here. What is pulled is the digest the controller resolved
// for the whole run (ServiceSpec.pull), so every host of a fleet runs the same image even when
// the tag moves mid-rollout; the pulled image is then tagged as the reference, as `docker pull`
// would tag it.
import type { Change, ModuleContext } from '../../modules/contract.js';
import { splitRef } from '../../modules/lib/docker-image-spec.js';
import type { PullSpec } from '../../modules/service-spec.js';
import { inspectImage, tagImage, type ImageInfo } from '../docker/engine.js';
import { registryHost } from '../docker/registry-answer.js';
import type { ImageResult } from './image-result.js';

const short = (digest: string) => digest.slice(digest.indexOf('@') + 1).slice(0, 19);

/** The repository@sha256 the host has for `ref`'s repository, from a registry pull. */
export function digestOf(info: ImageInfo, ref: string): string | undefined {
  const { registry, repository } = splitRef(ref);
  const names = new Set([`${registry ? `${registry}/` : ''}${repository}`, `docker.io/${repository}`, `docker.io/library/${repository}`, repository.replace(/^library\//, '')]);
  return (info.RepoDigests ?? []).find((d) => names.has(d.slice(0, d.indexOf('@'))));
}

export async function pullFor(ref: string, pull: PullSpec, ctx: ModuleContext | undefined): Promise<ImageResult> {
  const now = await inspectImage(ref);
  if (!now.ok) return now;
  const here = now.value;
  const inPlace = (i: ImageInfo, digest = digestOf(i, ref)): ImageResult => ({ ok: true, image: { changes: [], id: i.Id, result: () => i.Id, ...(digest ? { digest } : {}) } });

  if (pull.policy === 'never') {
    if (here) return inPlace(here);
    return {
      ok: false,
      error: {
        code: 'services.image-missing',
        message: `image ${ref} is not on this host, and its pull_policy is never`,
        detail: `hint: pull it first (an image task), or set pull_policy: missing to let berth pull it from ${registryHost(ref)}`,
      },
    };
  }
  if (pull.policy === 'missing' && here) return inPlace(here);

  // The digest this run pulls: the controller's, else (a run the controller did not resolve) the registry's now.
  let digest = pull.digest;
  if (!digest && pull.unresolved) return { ok: false, error: { code: 'services.pull-failed', message: pull.unresolved.message, detail: pull.unresolved.hint } };
  if (!digest && pull.policy === 'always') {
    const { remoteDigest, digestRef } = await import('../docker/registry.js');
    const remote = await remoteDigest(ref, pull.auth);
    if (!remote.ok) return { ok: false, error: { ...remote.error, code: 'services.pull-failed' } };
    digest = digestRef(ref, remote.value);
  }
  if (digest) {
    const have = await inspectImage(digest);
    if (!have.ok) return have;
    if (have.value && here?.Id === have.value.Id) return inPlace(have.value, digest);
    if (have.value) {
      // The digest is here under another name: only the reference moves to it.
      const id = have.value.Id;
      return { ok: true, image: { changes: [retag(ref, id, digest)], result: () => id, digest } };
    }
  }
  if (!ctx) return { ok: false, error: { code: 'services.image-missing', message: `image ${ref} is not on this host` } };
  let made: string | undefined;
  const target = digest ?? ref;
  const change: Change = {
    summary: `pull ${ref}${digest ? ` (${short(digest)})` : ''}`,
    cause: here ? `the registry has ${digest ? short(digest) : 'another image'}` : 'not on the host',
    apply: async () => {
      const { pull: pullImage } = await import('../docker/registry.js');
      const got = await pullImage(target, pull.auth, ctx);
      if (!got.ok) return { ok: false, error: { ...got.error, code: 'services.pull-failed' } };
      if (target !== ref) {
        const t = await tagImage(got.value.Id, ref);
        if (!t.ok) return t;
      }
      made = got.value.Id;
      return { ok: true };
    },
  };
  return { ok: true, image: { changes: [change], result: () => made, ...(digest ? { digest } : {}) } };
}

function retag(ref: string, id: string, digest: string): Change {
  return {
    summary: `tag ${id.replace(/^sha256:/, '').slice(0, 12)} as ${ref}`,
    cause: `the registry's ${ref} is ${short(digest)}, which this host has`,
    apply: async () => {
      const t = await tagImage(id, ref);
      return t.ok ? { ok: true } : t;
    },
  };
}
