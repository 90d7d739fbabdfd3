// Image reads and small writes on the local engine, with the engine's errors turned into
// values: "no such image" is an answer (undefined), anything else a WireError for a person.
// These go through plain API calls (api.ts); `engine()` gives dockerode for streaming calls.
import type Docker from 'dockerode';
import type { WireError } from '../../protocol/agent-protocol.js';
import { docker } from '../docker-client.js';
import { answerMessage, engineCall, refPath, type ApiResult } from './api.js';

export interface ImageInfo {
  Id: string;
  RepoTags: string[] | null;
  RepoDigests: string[] | null;
  Created: string;
  Size: number;
  RootFS: { Type: string; Layers?: string[] };
  Config: { Labels: Record<string, string> | null } | null;
}

export interface ImageSummary {
  Id: string;
  RepoTags: string[] | null;
  Created: number;
}

export type Read<T> = { ok: true; value: T } | { ok: false; error: WireError };

const NO_ENGINE = (what: string): WireError => ({ code: 'image.no-engine', message: `${what}: docker does not answer on /var/run/docker.sock`, detail: 'install and start it first with a `runtime:` task' });

/** The engine's own message for a failed dockerode call (it puts it in `json.message`). */
export function engineMessage(e: unknown): string {
  const x = e as { json?: { message?: string } | null; reason?: string; message?: string };
  return (x.json?.message ?? x.reason ?? x.message ?? String(e)).trim();
}

export function dockerError(code: string, what: string, e: unknown): WireError {
  const x = e as { code?: string };
  if (x.code === 'ENOENT' || x.code === 'ECONNREFUSED') return NO_ENGINE(what);
  return { code, message: `${what}: ${engineMessage(e)}` };
}

/** dockerode, for builds, loads, pulls and pushes. */
export async function engine(): Promise<Docker> {
  return docker();
}

/** A plain call whose JSON answer is wanted; `absent` statuses (404) mean "no such thing". */
async function call<T>(code: string, what: string, method: string, path: string, opts: { absent?: number[]; timeoutMs?: number } = {}): Promise<Read<T | undefined>> {
  const r: ApiResult = await engineCall(method, path, { timeoutMs: opts.timeoutMs });
  if (!r.ok) return { ok: false, error: r.code === 'ENOENT' || r.code === 'ECONNREFUSED' ? NO_ENGINE(what) : { code, message: `${what}: ${r.message}` } };
  if (opts.absent?.includes(r.value.status)) return { ok: true, value: undefined };
  if (r.value.status >= 300) return { ok: false, error: { code, message: `${what}: ${answerMessage(r.value)}` } };
  if (r.value.body.trim() === '') return { ok: true, value: undefined };
  try {
    return { ok: true, value: JSON.parse(r.value.body) as T };
  } catch {
    return { ok: false, error: { code, message: `${what}: the engine's answer is not JSON` } };
  }
}

/** The image `ref` names (a tag, an ID or a digest reference), or undefined when there is none. */
export const inspectImage = (ref: string): Promise<Read<ImageInfo | undefined>> =>
  call<ImageInfo>('image.inspect-failed', `cannot inspect image ${ref}`, 'GET', `/images/${refPath(ref)}/json`, { absent: [404] });

/** Images, optionally filtered (`{label: ["k=v"]}`); `all` includes intermediate images. */
export async function listImages(filters: Record<string, string[]> = {}, all = false): Promise<Read<ImageSummary[]>> {
  const q = `all=${all ? 1 : 0}&filters=${encodeURIComponent(JSON.stringify(filters))}`;
  const r = await call<ImageSummary[]>('image.list-failed', 'cannot list images', 'GET', `/images/json?${q}`);
  return r.ok ? { ok: true, value: r.value ?? [] } : r;
}

/** IDs of the images containers use, stopped ones included. */
export async function imagesInUse(): Promise<Read<Set<string>>> {
  const r = await call<Array<{ ImageID: string }>>('image.list-failed', 'cannot list containers', 'GET', '/containers/json?all=1');
  return r.ok ? { ok: true, value: new Set((r.value ?? []).map((c) => c.ImageID)) } : r;
}

/** Splits "repo/name:tag" for the tag API (which wants repo and tag apart); no tag means latest. */
export function repoAndTag(ref: string): { repo: string; tag: string } {
  const slash = ref.lastIndexOf('/');
  const colon = ref.lastIndexOf(':');
  return colon > slash ? { repo: ref.slice(0, colon), tag: ref.slice(colon + 1) } : { repo: ref, tag: 'latest' };
}

/** Points `ref` at image `id` (moves the tag when it named another image). */
export async function tagImage(id: string, ref: string): Promise<Read<void>> {
  const { repo, tag } = repoAndTag(ref);
  const r = await call('image.tag-failed', `cannot tag ${id.slice(7, 19)} as ${ref}`, 'POST', `/images/${refPath(id)}/tag?repo=${encodeURIComponent(repo)}&tag=${encodeURIComponent(tag)}`);
  return r.ok ? { ok: true, value: undefined } : r;
}

/** Removes an image; `conflict` is true when the engine refused because something still needs it. */
export async function removeImage(ref: string, force: boolean): Promise<{ ok: true } | { ok: false; conflict: boolean; error: WireError }> {
  const r = await engineCall('DELETE', `/images/${refPath(ref)}?force=${force ? 1 : 0}`);
  if (!r.ok) return { ok: false, conflict: false, error: r.code === 'ENOENT' ? NO_ENGINE(`cannot remove ${ref}`) : { code: 'image.remove-failed', message: `cannot remove ${ref}: ${r.message}` } };
  if (r.value.status < 300 || r.value.status === 404) return { ok: true };
  return { ok: false, conflict: r.value.status === 409, error: { code: 'image.remove-failed', message: `cannot remove ${ref}: ${answerMessage(r.value)}` } };
}

/** Does `ref` name image `id` already? Tags without ":" mean ":latest", as docker reads them. */
export function hasTag(info: ImageInfo, ref: string): boolean {
  const { repo, tag } = repoAndTag(ref);
  return (info.RepoTags ?? []).includes(`${repo}:${tag}`);
}
