// Retention: of the images berth built for one name (label berth.image), a host keeps the
// newest `keep` (the releases a rollback may want) and removes older ones. Never removed: the
// image being ensured, and any image a container uses (running or stopped), whatever its age.
import type { Change, ModuleContext } from '../../modules/contract.js';
import { LABEL_IMAGE } from '../../modules/lib/docker-image-spec.js';
import { imagesInUse, inspectImage, listImages, removeImage, type Read } from './engine.js';

interface Candidate {
  id: string;
  tags: string[];
  /** Creation time to the nanosecond ("2026-11-22T14:44:12.123456789Z" made sortable). */
  created: string;
}

/** RFC 3339 with nanoseconds, trailing zeros trimmed by Go: padded so strings sort by time. */
function sortableTime(s: string): string {
  const m = /^(.*?)(?:\.(\d+))?Z$/.exec(s);
  return m ? `${m[1]}.${(m[2] ?? '').padEnd(9, '0')}` : s;
}

async function candidates(repository: string, within: number): Promise<Read<{ images: Candidate[]; used: Set<string> }>> {
  const listed = await listImages({ label: [`${LABEL_IMAGE}=${repository}`] });
  if (!listed.ok) return listed;
  // Within the places kept, nothing can go: no container list, no inspect (every no-op pays this).
  if (listed.value.length <= within) return { ok: true, value: { images: [], used: new Set() } };
  const used = await imagesInUse();
  if (!used.ok) return used;
  const images: Candidate[] = [];
  // The list has seconds only; builds of one run come within a second of each other.
  for (const i of listed.value) {
    const info = await inspectImage(i.Id);
    if (!info.ok) return info;
    if (info.value) images.push({ id: i.Id, tags: (i.RepoTags ?? []).filter((t) => t !== '<none>:<none>'), created: sortableTime(info.value.Created) });
  }
  return { ok: true, value: { images, used: used.value } };
}

/**
 * The change that prunes `repository` down to `keep` images. `current` is the image being
 * ensured (kept); `adding` is 1 when it does not exist yet (it takes one of the `keep` places).
 */
export async function planPrune(repository: string, keep: number, current: () => string | undefined, adding: number, ctx: ModuleContext): Promise<Read<Change | undefined>> {
  const found = await candidates(repository, places(keep, current(), adding));
  if (!found.ok) return found;
  const remove = pick(found.value.images, found.value.used, keep, current(), adding);
  if (remove.length === 0) return { ok: true, value: undefined };
  const names = remove.map((c) => c.tags[0] ?? c.id.slice(7, 19));
  return {
    ok: true,
    value: {
      summary: `remove ${remove.length} older image${remove.length === 1 ? '' : 's'} of ${repository} (keep ${keep}): ${names.join(', ')}`,
      cause: `more than ${keep} images of ${repository}`,
      apply: async () => {
        // Decided again now: the build or pull before this change added an image.
        const now = await candidates(repository, places(keep, current(), 0));
        if (!now.ok) return now;
        const removed: string[] = [];
        const kept: string[] = [];
        for (const c of pick(now.value.images, now.value.used, keep, current(), 0)) {
          // force: an image with several tags goes whole. Containers were ruled out above.
          const r = await removeImage(c.id, true);
          if (r.ok) removed.push(c.id);
          // An image another image was built FROM cannot go (a base still in use): keep it.
          else if (r.conflict) kept.push(`${c.tags[0] ?? c.id.slice(7, 19)} (${r.error.message})`);
          else return r;
        }
        for (const k of kept) ctx.output('stderr', `kept ${k}`);
        return { ok: true, data: { pruned: removed } };
      },
    },
  };
}

function pick(images: Candidate[], used: Set<string>, keep: number, current: string | undefined, adding: number): Candidate[] {
  // The image being ensured always takes a place, even when it is not among the newest (a rollback).
  const newest = [...images].sort((a, b) => (a.id === current ? -1 : b.id === current ? 1 : a.created < b.created ? 1 : a.created > b.created ? -1 : 0));
  return newest.slice(places(keep, current, adding)).filter((c) => c.id !== current && !used.has(c.id));
}

/** How many images keep their place: `keep`, less the one being added, never less than the current one. */
function places(keep: number, current: string | undefined, adding: number): number {
  return Math.max(current === undefined ? 0 : 1, keep - adding);
}
