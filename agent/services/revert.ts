// `services.revert`: a service back to a release in its history on this host, converged from
// the recorded spec with the recorded image ids, so nothing is built or pulled. Used by a
// rollout's automatic revert and by `berth rollback`.
import { defineModule, failed } from '../../modules/contract.js';
import { RevertSpec } from '../../modules/service-spec.js';
import { converge } from './converge.js';
import { filledSpec, readHistory, type ReleaseRecord } from './releases.js';

export const revert = defineModule({
  name: 'services.revert',
  schema: RevertSpec,
  async plan(p, ctx) {
    const h = readHistory(p.playbook, p.service);
    const target = pick(h.releases, p);
    if (typeof target === 'string') {
      // Nothing to return to (a first deploy): an automatic revert leaves the host as it is.
      if (p.to === undefined) return { ok: true, changes: [], data: { reverted: false, reason: target } };
      return failed('release.unknown', target);
    }
    // The record names its secrets; their values are the ones this run sent.
    const filled = filledSpec(target.spec, ctx.secrets);
    if (!filled.ok) {
      const names = filled.missing.join(', ');
      return failed('release.secret-missing', `release ${target.id} of ${p.service} uses the secret${filled.missing.length === 1 ? '' : 's'} ${names}, which this run did not send`, `declare ${names} under the playbook's secrets: (a release records a secret's name, never its value)`);
    }
    const spec = { ...filled.spec, pinned: target.images, ...(p.origin ? { origin: p.origin } : {}) };
    const planned = await converge.plan(spec, ctx);
    if (!planned.ok) return planned;
    return { ...planned, data: { ...(planned.data ?? {}), reverted: true, release: target.id } };
  },
});

function pick(releases: ReleaseRecord[], p: RevertSpec): ReleaseRecord | string {
  if (releases.length === 0) return `${p.service} has no release history on this host`;
  if (p.to !== undefined) {
    const found = releases.filter((r) => r.id.startsWith(p.to!));
    if (found.length === 1) return found[0];
    return found.length === 0 ? `${p.service} has no release "${p.to}" on this host (known: ${releases.map((r) => r.id).join(', ')})` : `"${p.to}" names ${found.length} releases of ${p.service}: give more of the id`;
  }
  // An automatic revert: the newest release not made by this run (`notRun`).
  const before = releases.find((r) => r.runId !== p.notRun);
  return before ?? `${p.service} had no release on this host before this run`;
}
