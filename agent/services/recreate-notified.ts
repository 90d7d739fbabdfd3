// `on_notify: recreate`: a notified service's running containers are replaced by new ones made
// from the same spec, instead of restarted: a fresh writable layer (an entrypoint that renders
// its config only on a first start), and berth's rule that a change means a new container. The
// decision is reconcile's (in its `replace` mode: these containers, and the ones sharing their
// namespaces, nothing else), the work is the converger's own `execute` (create beside, remove,
// rename, start; named and anonymous volumes carried over; instances withdrawn and gated as in
// any replacement).
import type Docker from 'dockerode';
import type { Change, ModuleContext, PlanResult } from '../../modules/contract.js';
import type { ServiceSpec } from '../../modules/service-spec.js';
import { releaseOf, summary } from './converge.js';
import { desiredContainers } from './desired.js';
import { firstContainerOf } from './engine.js';
import { execute, type ExecContext } from './execute.js';
import { imageFor } from './image.js';
import type { Observed } from './observe.js';
import { reconcile } from './reconcile.js';

/** `stale`: the service's running containers that started before this run (the ones that did not read the change). */
export async function recreateNotified(d: Docker, spec: ServiceSpec, observed: Observed[], stale: Observed[], ctx: ModuleContext): Promise<PlanResult> {
  if (stale.length === 0) return { ok: true, changes: [] };
  const images = new Map<string, string>();
  for (const ref of new Set([spec.main.image, ...spec.sidecars.map((s) => s.spec.image)])) {
    // The service's own converge made its image; a handler does not build or pull one.
    const img = await imageFor(d, ref, undefined, spec.pinned?.[ref]);
    if (!img.ok) return { ok: false, error: { ...img.error, message: `cannot recreate ${spec.service}: ${img.error.message}` } };
    images.set(ref, img.image.id ?? '');
  }
  const desired = desiredContainers(spec, images);
  const others = new Map<string, string | undefined>();
  for (const want of desired) {
    for (const l of want.links) {
      if (l.ref.kind === 'service' && !l.ref.sameReplica && !others.has(l.ref.service)) others.set(l.ref.service, await firstContainerOf(d, spec.playbook, l.ref.service));
    }
  }
  const ops = reconcile({
    service: spec.service,
    replicas: spec.replicas,
    job: spec.job,
    scheduled: spec.schedule !== undefined,
    desired,
    observed,
    otherService: (s) => others.get(s),
    replace: { ids: new Set(stale.map((o) => o.id)), cause: 'notified (on_notify: recreate)' },
  });
  const release = releaseOf(desired) ?? '';
  const exec: ExecContext = {
    docker: d,
    spec,
    release,
    ids: new Map(observed.map((o) => [`${o.role}#${o.replica}`, o.id])),
    imageId: (ref) => images.get(ref) ?? '',
    otherService: (s) => firstContainerOf(d, spec.playbook, s),
    output: ctx.output,
    signal: ctx.signal,
    gate: { docker: d, spec, release, facts: ctx.facts, signal: ctx.signal, output: ctx.output },
  };
  const changes: Change[] = ops.map((op) => ({ summary: summary(op, spec.service), cause: op.cause, apply: () => execute(op, exec) }));
  return { ok: true, changes };
}
