// One image on this host, from any source (a build, layers shipped from the controller, a
// registry), as changes in the module contract's sense: the `image` module reports them, the
// service converger (agent/services/) runs them before it touches a container. Once resolved,
// the image is named by its ID, so a tag that moves later cannot change what a service runs.
import type { ApplyResult, Change, ModuleContext } from '../../modules/contract.js';
import { DEFAULT_KEEP, repositoryOf, splitRef, type ImageSpec, type PushSpec, type ResolvedImage } from '../../modules/lib/docker-image-spec.js';
import { planBuild } from './build.js';
import { hasTag, inspectImage, removeImage, tagImage, type ImageInfo, type Read } from './engine.js';
import { digestRef, pull, push, remoteDigest } from './registry.js';
import { planPrune } from './retention.js';
import { planShip } from './ship.js';

export interface ImagePlan {
  changes: Change[];
  /** The image as it is now, when it is already in place; else known once the changes ran. */
  current?: ResolvedImage;
  /** The image after the changes ran (undefined in check mode when it had to be made). */
  result(): ResolvedImage | undefined;
}

export const resolvedOf = (info: ImageInfo, ref: string): ResolvedImage => ({ id: info.Id, ref, digests: info.RepoDigests ?? [], tags: (info.RepoTags ?? []).filter((t) => t !== '<none>:<none>') });

const short = (id: string) => id.replace(/^sha256:/, '').slice(0, 12);

export async function planImage(spec: ImageSpec, ctx: ModuleContext, pushTo?: PushSpec): Promise<Read<ImagePlan>> {
  const changes: Change[] = [];
  let info: ImageInfo | undefined;
  let ref = spec.name;
  const done = (i: ImageInfo): ApplyResult => {
    info = i;
    return { ok: true, data: { image: resolvedOf(i, ref) } };
  };
  const step = (summary: string, cause: string, run: () => Promise<Read<ImageInfo>>): Change => ({
    summary,
    cause,
    apply: async () => {
      const r = await run();
      return r.ok ? done(r.value) : r;
    },
  });
  // A change that works on the image a previous change produced.
  const withImage = (what: string, run: (i: ImageInfo) => Promise<ApplyResult>) => async (): Promise<ApplyResult> =>
    info ? run(info) : { ok: false, error: { code: 'image.unresolved', message: `cannot ${what}: the image is not there` } };

  const src = spec.source;
  if (src.kind === 'build') {
    const b = await planBuild(spec.name, src.build);
    if (!b.ok) return b;
    ref = b.value.tag;
    if (b.value.present) info = b.value.present;
    else changes.push(step(`build ${spec.name} as ${b.value.tag} from ${b.value.describe}`, 'no image with this content tag on the host', () => b.value.build(ctx)));
  } else if (src.kind === 'ship') {
    const s = await planShip(src.image);
    if (!s.ok) return s;
    ref = src.image.tags[0] ?? src.image.id;
    if (s.value.present) info = s.value.present;
    else changes.push(step(`load ${spec.name} (${short(src.image.id)}) from the controller: ${s.value.describe}`, 'image not on the host', () => s.value.load(ctx)));
  } else {
    const now = await inspectImage(spec.name);
    if (!now.ok) return now;
    const fetch = (cause: string) => step(`pull ${spec.name}`, cause, () => pull(spec.name, spec.auth, ctx));
    if (src.pull === 'never') {
      if (!now.value) return { ok: false, error: { code: 'image.missing', message: `image ${spec.name} is not on this host, and pull is false`, detail: 'build it, ship it, or allow a pull' } };
      info = now.value;
    } else if (!now.value) {
      changes.push(fetch('not on the host'));
    } else if (src.pull === 'missing') {
      info = now.value;
    } else {
      const remote = await remoteDigest(spec.name, spec.auth);
      if (!remote.ok) return remote;
      if ((now.value.RepoDigests ?? []).includes(digestRef(spec.name, remote.value))) info = now.value;
      else changes.push(fetch(`the registry has ${remote.value.slice(0, 19)}`));
    }
  }

  if (spec.tagName && ref !== spec.name && src.kind !== 'registry') {
    const name = spec.name;
    if (!info || !hasTag(info, name)) {
      changes.push({
        summary: `tag ${info ? short(info.Id) : 'the new image'} as ${name}`,
        cause: info ? `${name} names another image or none` : 'new image',
        apply: withImage(`tag it as ${name}`, async (i) => {
          const t = await tagImage(i.Id, name);
          if (!t.ok) return t;
          const again = await inspectImage(i.Id);
          return again.ok && again.value ? done(again.value) : { ok: true };
        }),
      });
    }
  }

  if (pushTo) {
    const c = await planPush(spec, ref, pushTo, info, changes.length > 0, (i) => done(i), ctx);
    if (!c.ok) return c;
    if (c.value) changes.push({ ...c.value, apply: withImage('push it', c.value.run) });
  }

  const prune = await planPrune(repositoryOf(spec.name), spec.keep ?? DEFAULT_KEEP, () => info?.Id, info ? 0 : 1, ctx);
  if (!prune.ok) return prune;
  if (prune.value) changes.push(prune.value);

  const current = changes.length === 0 && info ? resolvedOf(info, ref) : undefined;
  return { ok: true, value: { changes, current, result: () => (info ? resolvedOf(info, ref) : undefined) } };
}

/** The reference an image is pushed as: registry/repository:tag. */
export function pushRef(spec: ImageSpec, ref: string, p: PushSpec): string {
  const repository = p.repository ?? repositoryOf(spec.name);
  const tag = p.tag ?? splitRef(ref).tag ?? 'latest';
  return `${p.registry}/${repository}:${tag}`;
}

async function planPush(
  spec: ImageSpec,
  ref: string,
  p: PushSpec,
  info: ImageInfo | undefined,
  changing: boolean,
  done: (i: ImageInfo) => ApplyResult,
  ctx: ModuleContext,
): Promise<Read<(Omit<Change, 'apply'> & { run: (i: ImageInfo) => Promise<ApplyResult> }) | undefined>> {
  const target = pushRef(spec, ref, p);
  let cause = 'a new image';
  if (info && !changing) {
    const remote = await remoteDigest(target, p.auth);
    if (remote.ok && (info.RepoDigests ?? []).includes(digestRef(target, remote.value))) return { ok: true, value: undefined };
    cause = remote.ok ? `the registry has another image (${remote.value.slice(0, 19)})` : 'not in the registry';
  }
  return {
    ok: true,
    value: {
      summary: `push ${target}`,
      cause,
      run: async (i) => {
        const t = await tagImage(i.Id, target);
        if (!t.ok) return t;
        const pushed = await push(target, p.auth, ctx);
        if (!pushed.ok) return pushed;
        const again = await inspectImage(i.Id);
        if (!again.ok) return again;
        const r = again.value ? done(again.value) : { ok: true as const };
        return { ...r, data: { ...(r.ok ? r.data : {}), pushed: { ref: target, digest: pushed.value } } };
      },
    },
  };
}

/** state: absent — the name's reference and every berth-built image of it no container uses. */
export async function planRemoval(spec: ImageSpec): Promise<Read<Change[]>> {
  const now = await inspectImage(spec.name);
  if (!now.ok) return now;
  const changes: Change[] = [];
  if (now.value) {
    changes.push({
      summary: `remove image ${spec.name} (${short(now.value.Id)})`,
      cause: 'present',
      apply: async () => {
        const r = await removeImage(spec.name, false);
        return r.ok ? { ok: true } : { ok: false, error: r.error };
      },
    });
  }
  return { ok: true, value: changes };
}
