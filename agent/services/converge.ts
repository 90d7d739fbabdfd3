// `services.converge`: one service (its replicas and their sidecars) on this host, the Compose
// way: observe the containers berth labelled, reconcile them against the spec, and return one
// change per operation, each with its cause. Check mode reports the same changes, applies none.
import { defineModule, type Change } from '../../modules/contract.js';
import { ServiceSpec } from '../../modules/service-spec.js';
import { desiredContainers } from './desired.js';
import { engine, firstContainerOf } from './engine.js';
import { execute } from './execute.js';
import { releaseId } from './hash.js';
import { imageFor, PENDING_IMAGE, type ServiceImage } from './image.js';
import { displayName } from './names.js';
import { observe } from './observe.js';
import { reconcile, type Op } from './reconcile.js';
import { waitForDependencies } from './wait.js';

export const converge = defineModule({
  name: 'services.converge',
  schema: ServiceSpec,
  async plan(spec, ctx) {
    const e = await engine();
    if (!e.ok) return e;
    const d = e.docker;

    const images = new Map<string, string>();
    const made = new Map<string, ServiceImage>();
    const imageChanges: Change[] = [];
    for (const ref of new Set([spec.main.image, ...spec.sidecars.map((s) => s.spec.image)])) {
      const img = await imageFor(d, ref, ref === spec.main.image ? spec.build : undefined);
      if (!img.ok) return img;
      made.set(ref, img.image);
      images.set(ref, img.image.id ?? PENDING_IMAGE);
      imageChanges.push(...img.image.changes);
    }
    const observed = (await observe(d, spec.playbook, spec.service)).filter((o) => !o.oneoff);
    const desired = desiredContainers(spec, images);
    const others = new Map<string, string | undefined>();
    for (const want of desired) {
      for (const l of want.links) {
        if (l.ref.kind === 'service' && !l.ref.sameReplica && !others.has(l.ref.service)) others.set(l.ref.service, await firstContainerOf(d, spec.playbook, l.ref.service));
      }
    }
    const ops = reconcile({ service: spec.service, replicas: spec.replicas, job: spec.job, scheduled: spec.schedule !== undefined, desired, observed, otherService: (s) => others.get(s) });
    const data = { containers: desired.filter((x) => x.role === '').map((x) => x.name), release: desired[0] ? releaseId(desired[0].imageId, desired[0].hash) : undefined };
    if (ops.length === 0 && imageChanges.length === 0) return { ok: true, changes: [], data };

    const ids = new Map(observed.map((o) => [`${o.role}#${o.replica}`, o.id]));
    const exec = {
      docker: d,
      spec,
      release: data.release ?? '',
      ids,
      imageId: (ref: string) => made.get(ref)?.result() ?? images.get(ref) ?? '',
      otherService: (s: string) => firstContainerOf(d, spec.playbook, s),
      output: ctx.output,
      signal: ctx.signal,
    };
    // Dependencies are waited for once, before the first container is created or started.
    let waited: Promise<{ ok: true } | { ok: false; error: { code: string; message: string } }> | undefined;
    const changes: Change[] = ops.map((op) => ({
      summary: summary(op, spec.service),
      cause: op.cause,
      apply: async () => {
        if (op.kind !== 'remove' && spec.dependsOn.length) {
          waited ??= waitForDependencies(d, spec, { signal: ctx.signal, warn: (line) => ctx.output('stderr', line) });
          const w = await waited;
          if (!w.ok) return w;
        }
        return execute(op, exec);
      },
    }));
    return { ok: true, changes: [...imageChanges, ...changes], data };
  },
});

function summary(op: Op, service: string): string {
  const who = 'want' in op ? displayName(service, op.want.role, op.want.replica) : displayName(service, op.old.role, op.old.replica);
  const verb = op.kind === 'remove' ? 'remove' : op.kind === 'start' ? (op.wait ? 'run job' : 'start') : op.kind === 'create' && op.wait ? 'run job' : op.kind;
  return `${verb} ${who}`;
}
