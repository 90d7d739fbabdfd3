// `berth releases` and `berth rollback`: a service's release history read from every host of its
// play, and a rollback to a release still on those hosts: first every host is checked (the
// release is known there and its images are present), and only when all of them are ready is
// any host touched; then each host converges the recorded release (no build), under its lock.
import type { HostPlan, ServiceReleases } from '../../protocol/agent-protocol.js';
import type { ResolvedHost } from '../inventory/resolve.js';
import { serviceTaskModules, type RevertSpec } from '../../modules/service-spec.js';
import { err, ok, type BerthError, type Result } from '../errors.js';
import { runOrigin } from '../run/origin.js';
import { ask, onHosts, type Fleet, type HostOutcome } from './fleet.js';
import { servicePlay } from './fleet-requests.js';

export async function listReleases(fleet: Fleet, service: string, opts: { acceptNewHostKeys?: boolean }): Promise<Result<Array<HostOutcome<ServiceReleases | undefined>>>> {
  const found = servicePlay(fleet, service, 'releases');
  if (!found.ok) return found;
  const out = await onHosts(fleet, found.value.hosts, async (host, agent) => {
    const r = await ask<ServiceReleases[]>(agent, host.name, { method: 'services.releases', params: { playbook: fleet.project!, service } });
    return r.ok ? ok(r.value[0]) : r;
  }, opts);
  return ok(out);
}

export interface RollbackTarget {
  host: string;
  release: string;
  from?: string;
  /** The secrets the release's spec names: the host is sent their values. */
  secrets?: string[];
}

/** Which release each host goes back to, or why it cannot: `to` (an id or a prefix), else the one before the current. */
export function rollbackTargets(histories: Array<HostOutcome<ServiceReleases | undefined>>, service: string, to: string | undefined): Result<RollbackTarget[], BerthError[]> {
  const problems: BerthError[] = [];
  const targets: RollbackTarget[] = [];
  for (const h of histories) {
    if (!h.ok) {
      problems.push({ ...h.error, where: h.error.where ?? h.host });
      continue;
    }
    const releases = h.value?.releases ?? [];
    const current = h.value?.current;
    let pick: (typeof releases)[number] | undefined;
    if (to !== undefined) {
      const hits = releases.filter((r) => r.id.startsWith(to));
      if (hits.length > 1) problems.push({ code: 'rollback.ambiguous', message: `"${to}" names ${hits.length} releases of ${service}`, where: h.host, hint: 'give more of the release id (berth releases)' });
      pick = hits.length === 1 ? hits[0] : undefined;
      if (hits.length === 0) problems.push({ code: 'rollback.unknown-release', message: `${service} has no release "${to}" here (known: ${releases.map((r) => r.id).join(', ') || 'none'})`, where: h.host, hint: 'see what each host has with `berth releases`' });
    } else {
      const i = releases.findIndex((r) => r.id === current);
      pick = releases[i + 1];
      if (!pick) problems.push({ code: 'rollback.no-previous', message: `${service} has no release before ${current ?? 'the current one'} here`, where: h.host, hint: 'name a release with --to (berth releases)' });
    }
    if (pick && !pick.imagesPresent) problems.push({ code: 'rollback.images-gone', message: `the images of release ${pick.id} are no longer here (pruned)`, where: h.host, hint: 'pick a newer release, or apply the playbook at that revision to build it again' });
    if (pick && pick.imagesPresent) targets.push({ host: h.host, release: pick.id, ...(current ? { from: current } : {}), ...(pick.secrets?.length ? { secrets: pick.secrets } : {}) });
  }
  return problems.length ? err(problems) : ok(targets);
}

/**
 * What `berth rollback` will run: each host's plan, a `services.revert` to its target release
 * in the service's play and nothing in the others. Every host is checked first; one that cannot
 * go back fails the whole rollback before any host is touched.
 */
export async function rollbackPlans(
  fleet: Fleet,
  service: string,
  opts: { to?: string; acceptNewHostKeys?: boolean },
): Promise<Result<{ targets: RollbackTarget[]; planFor: (playIndex: number, host: ResolvedHost, secretVars: Record<string, unknown>) => HostPlan }, BerthError[]>> {
  const listed = await listReleases(fleet, service, opts);
  if (!listed.ok) return err([listed.error]);
  const targets = rollbackTargets(listed.value, service, opts.to);
  if (!targets.ok) return targets;
  const play = servicePlay(fleet, service, 'rollback');
  if (!play.ok) return err([play.error]);
  const byHost = new Map(targets.value.map((t) => [t.host, t]));
  const origin = runOrigin(fleet.playbook!.path);
  // The release's recorded spec is what runs: the playbook is not rendered again (its vars may
  // have moved on, and a rollback must not depend on them). Its secrets are recorded by name:
  // the host is sent the values of those the release names, from the playbook's secrets.
  const planFor = (playIndex: number, host: ResolvedHost, secretVars: Record<string, unknown>): HostPlan => {
    const t = byHost.get(host.name);
    const params: RevertSpec | undefined = t && playIndex === play.value.playIndex ? { playbook: fleet.project!, service, to: t.release, origin } : undefined;
    const tasks = params ? [{ index: 0, name: `rollback ${service} to ${t!.release}`, module: serviceTaskModules.revert, params }] : [];
    const vars = Object.fromEntries((params ? (t!.secrets ?? []) : []).flatMap((n) => (typeof secretVars[n] === 'string' ? [[n, secretVars[n] as string]] : [])));
    return { host: host.name, check: false, diff: false, tasks, handlers: [], vars, secrets: Object.values(vars) };
  };
  return ok({ targets: targets.value, planFor });
}
