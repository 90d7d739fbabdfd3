// Pull from and push to an image registry through the engine, with credentials from the
// playbook (secret vars: the runner masks their values in every event; berth never puts them in
// a summary or a message). "Up to date" is decided by digests, asked of the registry without
// transferring anything (GET /distribution/{name}/json).
import type { AuthConfig } from 'dockerode';
import type { ModuleContext } from '../../modules/contract.js';
import { splitRef, type RegistryAuth } from '../../modules/lib/docker-image-spec.js';
import { answerMessage, engineCall, refPath } from './api.js';
import { dockerError, engine, engineMessage, inspectImage, type ImageInfo, type Read } from './engine.js';
import { registryFailure } from './registry-answer.js';
import { followStream, type EngineEvent } from './stream.js';

/** Docker Hub's address for credentials when a reference names no registry. */
const HUB = 'https://index.docker.io/v1/';

export function authConfig(auth: RegistryAuth | undefined, ref: string): AuthConfig | undefined {
  if (!auth) return undefined;
  return { username: auth.username, password: auth.password, serveraddress: auth.registry ?? splitRef(ref).registry ?? HUB };
}

/** The digest the registry has for `ref` now (sha256:...), without pulling anything. */
export async function remoteDigest(ref: string, auth: RegistryAuth | undefined, timeoutMs?: number): Promise<Read<string>> {
  const a = authConfig(auth, ref);
  const headers: Record<string, string> = a ? { 'X-Registry-Auth': registryAuthHeader(a) } : {};
  const r = await engineCall('GET', `/distribution/${refPath(ref)}/json`, { headers, timeoutMs });
  if (!r.ok) return { ok: false, error: { code: 'image.registry', message: `cannot ask the registry about ${ref}: ${r.message}` } };
  if (r.value.status >= 300) return { ok: false, error: registryFailure(ref, answerMessage(r.value), { user: auth?.username }) };
  const digest = (JSON.parse(r.value.body) as { Descriptor?: { digest?: string } }).Descriptor?.digest;
  return digest ? { ok: true, value: digest } : { ok: false, error: { code: 'image.registry', message: `the registry gave no digest for ${ref}` } };
}

/**
 * X-Registry-Auth: the JSON auth config in base64url *with* padding. The engine decodes it with
 * Go's base64.URLEncoding, which needs the padding; Node's 'base64url' leaves it out, and the
 * engine then silently drops the credentials whenever the JSON's length is not a multiple of 3
 * (it depends on the password and the registry's address, so it failed one port in three).
 */
export function registryAuthHeader(a: AuthConfig): string {
  const s = Buffer.from(JSON.stringify(a)).toString('base64url');
  return s + '='.repeat((4 - (s.length % 4)) % 4);
}

/** `repository@digest` as the engine lists it in RepoDigests, to compare with a remote digest. */
export function digestRef(ref: string, digest: string): string {
  const { registry, repository } = splitRef(ref);
  // The engine records Docker Hub images without a registry and official ones under library/.
  return `${registry ? `${registry}/` : ''}${repository}@${digest}`;
}

/** Progress of a pull or push, summed over layers; status lines only when they say something new. */
function reporter(ctx: ModuleContext, label: string): (e: EngineEvent) => void {
  const layers = new Map<string, { current: number; total: number }>();
  return (e) => {
    if (e.id && e.progressDetail?.total) {
      layers.set(e.id, { current: e.progressDetail.current ?? 0, total: e.progressDetail.total });
      let done = 0;
      let total = 0;
      for (const l of layers.values()) {
        done += l.current;
        total += l.total;
      }
      ctx.progress(label, done, total);
    } else if (e.status && !e.progressDetail?.total) {
      ctx.output('stdout', e.id ? `${e.id}: ${e.status}` : e.status);
    }
  };
}

export async function pull(ref: string, auth: RegistryAuth | undefined, ctx: ModuleContext): Promise<Read<ImageInfo>> {
  const d = await engine();
  let stream: NodeJS.ReadableStream;
  try {
    stream = await d.pull(ref, { authconfig: authConfig(auth, ref), abortSignal: ctx.signal });
  } catch (e) {
    const code = (e as { code?: string }).code;
    // No engine is the host's problem; anything else the engine says of a pull is the registry's answer.
    if (code === 'ENOENT' || code === 'ECONNREFUSED') return { ok: false, error: dockerError('image.pull-failed', `pull of ${ref} failed`, e) };
    return { ok: false, error: registryFailure(ref, engineMessage(e), { user: auth?.username, code: 'image.pull-failed' }) };
  }
  const r = await followStream(stream, reporter(ctx, `pull ${ref}`));
  if (!r.ok) return { ok: false, error: registryFailure(ref, r.message, { user: auth?.username, code: 'image.pull-failed' }) };
  const info = await inspectImage(ref);
  if (!info.ok) return info;
  return info.value ? { ok: true, value: info.value } : { ok: false, error: { code: 'image.pull-failed', message: `pull of ${ref} ended without the image` } };
}

/** Pushes the image tagged `ref` (tag it first); returns the digest the registry stored. */
export async function push(ref: string, auth: RegistryAuth | undefined, ctx: ModuleContext): Promise<Read<string>> {
  const d = await engine();
  const { registry, repository, tag } = splitRef(ref);
  const name = `${registry ? `${registry}/` : ''}${repository}`;
  let digest: string | undefined;
  let stream: NodeJS.ReadableStream;
  try {
    stream = await d.getImage(name).push({ tag: tag ?? 'latest', authconfig: authConfig(auth, ref), abortSignal: ctx.signal });
  } catch (e) {
    return { ok: false, error: dockerError('image.push-failed', `push of ${ref} failed`, e) };
  }
  const report = reporter(ctx, `push ${ref}`);
  const r = await followStream(stream, (e) => {
    if (e.aux?.Digest) digest = e.aux.Digest;
    report(e);
  });
  if (!r.ok) return { ok: false, error: { code: 'image.push-failed', message: `push of ${ref} failed: ${r.message}` } };
  return digest ? { ok: true, value: digest } : { ok: false, error: { code: 'image.push-failed', message: `push of ${ref} reported no digest` } };
}
