// `services.converge`: one service (its replicas and their sidecars) on this host, the Compose
// way: observe the containers berth labelled, reconcile them against the spec, and return one
// change per operation, each with its cause. Check mode reports the same changes, applies none.
// A scheduled job is only prepared here; its schedule file hands it to the watcher's timer.
import { defineModule, type Change } from '../../modules/contract.js';
import { ServiceSpec } from '../../modules/service-spec.js';
import { desiredContainers } from './desired.js';
import { engine, firstContainerOf } from './engine.js';
import { execute } from './execute.js';
import { canonicalJson, releaseId } from './hash.js';
import { admit, registrationDrift, withdraw } from './instance-gate.js';
import { readHistory, recordedSpec, recordRelease } from './releases.js';
import { imageFor, PENDING_IMAGE, type ServiceImage } from './image.js';
import { displayName } from './names.js';
import { observe } from './observe.js';
import { projectFileChanges } from './project-files.js';
import { reconcile, type Op } from './reconcile.js';
import { scheduleChanges } from './schedule.js';
import { waitForDependencies } from './wait.js';

export const converge = defineModule({
  name: 'services.converge',
  schema: ServiceSpec,
  async plan(spec, ctx) {
    const e = await engine();
    if (!e.ok) return e;
    const d = e.docker;

    // The files its containers bind come first: a new container finds them there.
    const shipped = await projectFileChanges(spec, ctx);
    if (!shipped.ok) return shipped;
    const images = new Map<string, string>();
    const made = new Map<string, ServiceImage>();
    const imageChanges: Change[] = [];
    for (const ref of new Set([spec.main.image, ...spec.sidecars.map((s) => s.spec.image)])) {
      const img = await imageFor(d, ref, ref === spec.main.image ? spec.build : undefined, spec.pinned?.[ref], ctx, spec.pull?.[ref]);
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
    const release = releaseOf(desired);
    // Once the image changes ran, the release is known even when an image was still to be built.
    const releaseNow = () => release ?? releaseOf(desiredContainers(spec, new Map([...images].map(([ref, id]) => [ref, made.get(ref)?.result() ?? id]))));
    const data = { containers: desired.filter((x) => x.role === '').map((x) => x.name), release };
    const timer = scheduleChanges(spec, data.containers, ops.some((op) => op.kind !== 'remove' && op.want.role === ''), d, ctx);
    if (!timer.ok) return timer;
    const gate = {
      docker: d,
      spec,
      get release() {
        return releaseNow() ?? '';
      },
      facts: ctx.facts,
      signal: ctx.signal,
      output: ctx.output,
    };
    // Instances whose containers stay as they are but whose registration is not what the spec says.
    const touched = new Set(ops.map((op) => ('want' in op ? op.want.name : op.old.name)));
    const drift: Change[] = [];
    for (const want of desired) {
      if (want.role !== '' || spec.job || touched.has(want.name)) continue;
      const how = registrationDrift(want.name, spec);
      if (how === 'missing') drift.push({ summary: `register ${displayName(spec.service, '', want.replica)}`, cause: 'not registered', apply: () => admit(want.name, gate) });
      if (how === 'stale') drift.push({ summary: `deregister ${displayName(spec.service, '', want.replica)}`, cause: 'the service no longer registers', apply: () => withdraw(want.name, gate, 0) });
    }
    const record = () => {
      const live = releaseNow();
      if (!live || spec.job) return;
      const pinned = Object.fromEntries([...made.keys()].map((ref) => [ref, made.get(ref)?.result() ?? images.get(ref) ?? '']));
      // Images from a registry: the digest each ran, so that a release says what it is anywhere.
      const digests = Object.fromEntries([...made].flatMap(([ref, m]) => (m.digest ? [[ref, m.digest]] : [])));
      recordRelease({ id: live, images: pinned, ...(Object.keys(digests).length ? { digests } : {}), configHash: releaseHashOf(desired), createdAt: new Date().toISOString(), operator: spec.origin?.operator ?? 'unknown', revision: spec.origin?.revision ?? 'unknown', runId: spec.origin?.runId ?? '', spec: recordedSpec(spec, ctx.secrets) });
    };
    if (ops.length === 0 && imageChanges.length === 0 && drift.length === 0 && shipped.changes.length === 0) {
      // Converged already; a history that lost track of it (a berth upgrade, a run cut short
      // after its last container) learns it now. Bookkeeping only: never in check mode.
      if (!ctx.check && release && !spec.job && readHistory(spec.playbook, spec.service).current !== release) record();
      return { ok: true, changes: [...timer.before, ...timer.after], data };
    }

    const ids = new Map(observed.map((o) => [`${o.role}#${o.replica}`, o.id]));
    const exec = {
      docker: d,
      spec,
      get release() {
        return releaseNow() ?? '';
      },
      ids,
      imageId: (ref: string) => made.get(ref)?.result() ?? images.get(ref) ?? '',
      otherService: (s: string) => firstContainerOf(d, spec.playbook, s),
      output: ctx.output,
      signal: ctx.signal,
      gate,
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
    const all = [...timer.before, ...shipped.changes, ...imageChanges, ...changes, ...drift, ...timer.after];
    // The release becomes history once its last change is done: a run cut short records nothing,
    // and the release before it stays the one a revert returns to.
    const last = all[all.length - 1];
    all[all.length - 1] = {
      ...last,
      apply: async () => {
        const r = await last.apply();
        if (!r.ok) return r;
        record();
        // The release as it is now: known only after the build when the image was built in this run.
        return { ...r, data: { ...(r.data ?? {}), release: releaseNow() } };
      },
    };
    return { ok: true, changes: all, data };
  },
});

/** A release is what every container of one replica runs: their images and configs together. */
function releaseHashOf(desired: ReturnType<typeof desiredContainers>): string {
  return canonicalJson(desired.filter((x) => x.replica === 1).map((x) => [x.role, x.hash]));
}

export function releaseOf(desired: ReturnType<typeof desiredContainers>): string | undefined {
  const first = desired.filter((x) => x.replica === 1);
  if (first.length === 0 || first.some((x) => x.imageId === PENDING_IMAGE)) return undefined;
  return releaseId(first.map((x) => x.imageId).join(','), releaseHashOf(desired));
}

export function summary(op: Op, service: string): string {
  const who = 'want' in op ? displayName(service, op.want.role, op.want.replica) : displayName(service, op.old.role, op.old.replica);
  const verb = op.kind === 'remove' ? 'remove' : op.kind === 'start' ? (op.wait ? 'run job' : 'start') : op.kind === 'create' && op.wait ? 'run job' : op.kind;
  return `${verb} ${who}`;
}
