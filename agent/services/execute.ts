// Carries out one operation of a service's plan against the engine. It makes no decisions (those
// are reconcile's): it only resolves, at the last moment, the ids of the containers a new one is
// tied to, and records the ids it creates for the operations after it.
import type Docker from 'dockerode';
import type { ApplyResult } from '../../modules/contract.js';
import type { ContainerRef, ServiceSpec } from '../../modules/service-spec.js';
import { randomBytes } from 'node:crypto';
import { readInstance } from '../registry/instance-files.js';
import { createRequest } from './create-options.js';
import { sleep } from '../health/gate.js';
import { admit, withdraw, type GateContext } from './instance-gate.js';
import { linksLabel, type Desired } from './desired.js';
import { L } from './labels.js';
import { lastLines } from './log-lines.js';
import { displayName, tempName } from './names.js';
import type { Observed } from './observe.js';
import type { Op } from './reconcile.js';

export interface ExecContext {
  docker: Docker;
  spec: ServiceSpec;
  release: string;
  /** Current container id per `role#replica`, kept up to date as operations run. */
  ids: Map<string, string>;
  /** The id of an image reference, once the image changes (if any) have made it. */
  imageId: (ref: string) => string;
  /** Id of the first container of another service of the playbook. */
  otherService: (service: string) => Promise<string | undefined>;
  output: (stream: 'stdout' | 'stderr', line: string) => void;
  signal: AbortSignal;
  /** Gate and registration of the service's own containers (sidecars and jobs are not gated). */
  gate: GateContext;
}

const fail = (code: string, message: string, detail?: string): ApplyResult => ({ ok: false, error: { code, message, detail } });
const msg = (e: unknown) => (e as { json?: { message?: string } }).json?.message ?? (e as Error).message;

export async function execute(op: Op, ctx: ExecContext): Promise<ApplyResult> {
  try {
    // Only a service's own, long-running containers are instances: they go through the gate.
    const instance = !ctx.spec.job && ('want' in op ? op.want.role : op.old.role) === '';
    switch (op.kind) {
      case 'remove': {
        if (instance) {
          const w = await withdraw(op.old.name, ctx.gate);
          if (!w.ok) return w;
        }
        await removeContainer(ctx.docker, op.old);
        ctx.ids.delete(`${op.old.role}#${op.old.replica}`);
        return { ok: true };
      }
      case 'start': {
        await ctx.docker.getContainer(op.old.id).start();
        if (op.wait) return waitJob(ctx, op.old.id, op.want);
        return instance ? admit(op.old.id, ctx.gate) : { ok: true };
      }
      case 'create': {
        const made = await createContainer(op.want, op.want.name, ctx);
        if (!made.ok) return made;
        if (op.start) await ctx.docker.getContainer(made.id).start();
        if (op.wait) return waitJob(ctx, made.id, op.want);
        return instance && op.start ? admit(made.id, ctx.gate) : { ok: true };
      }
      case 'recreate':
        if (instance && op.start && op.old.state === 'running' && startFirst(op.want, ctx)) return await replaceStartFirst(op, ctx);
        if (instance) {
          const w = await withdraw(op.old.name, ctx.gate);
          if (!w.ok) return w;
        }
        {
          const r = await recreate(op, ctx);
          if (!r.ok || !instance || !op.start || op.wait) return r;
          return admit(ctx.ids.get(`${op.want.role}#${op.want.replica}`) ?? op.want.name, ctx.gate);
        }
    }
  } catch (e) {
    return fail('services.engine', `${op.kind} ${'want' in op ? op.want.name : op.old.name}: ${msg(e)}`);
  }
}

/**
 * Start-first needs the old and the new container side by side: impossible when the container
 * binds a fixed host port (the second bind would fail). Those are replaced stop-first.
 */
function startFirst(want: Desired, ctx: ExecContext): boolean {
  if (ctx.spec.update?.order !== 'start-first') return false;
  if (want.spec.ports.some((p) => p.published !== undefined && /^\d+$/.test(p.published))) {
    ctx.output('stderr', `${want.name}: publishes a fixed host port, so it is replaced stop-first (its old container must free the port)`);
    return false;
  }
  return want.spec.network.mode !== 'host';
}

/**
 * Start-first: the old container steps aside (renamed, still serving and still registered), the
 * new one takes its name, starts and passes its gate; registering it under the same name moves
 * the registry entry to it in one step; the old one then drains and goes. A new container that
 * fails its gate is removed and the old one takes its name back: it never stopped serving.
 */
async function replaceStartFirst(op: Extract<Op, { kind: 'recreate' }>, ctx: ExecContext): Promise<ApplyResult> {
  const old = ctx.docker.getContainer(op.old.id);
  const aside = `${op.want.name}-old-${randomBytes(3).toString('hex')}`;
  const registered = readInstance(op.old.name) !== undefined;
  await old.rename({ name: aside });
  const made = await createContainer(op.want, op.want.name, ctx).catch((e: unknown) => fail('services.engine', `create ${op.want.name}: ${msg(e)}`) as Extract<ApplyResult, { ok: false }>);
  const putBack = async () => {
    if ('id' in made) await ctx.docker.getContainer(made.id).remove({ force: true }).catch(() => {});
    await old.rename({ name: op.want.name }).catch(() => {});
    ctx.ids.set(`${op.old.role}#${op.old.replica}`, op.old.id);
  };
  if (!made.ok) {
    await putBack();
    return made;
  }
  try {
    await ctx.docker.getContainer(made.id).start();
  } catch (e) {
    await putBack();
    return fail('services.engine', `start ${op.want.name}: ${msg(e)}`);
  }
  const admitted = await admit(made.id, ctx.gate);
  if (!admitted.ok) {
    // Keep what a person needs: the failing container's last lines are in the error's detail.
    await putBack();
    return { ...admitted, error: { ...admitted.error, message: `${admitted.error.message} (the old container ${op.old.name} kept serving)` } };
  }
  if (registered && ctx.spec.update?.drainMs) await sleep(ctx.spec.update.drainMs, ctx.signal);
  await removeContainer(ctx.docker, { ...op.old });
  return { ok: true };
}

/** Create the new one under a temporary name, stop and remove the old one, take its name, start. */
async function recreate(op: Extract<Op, { kind: 'recreate' }>, ctx: ExecContext): Promise<ApplyResult> {
  const old = ctx.docker.getContainer(op.old.id);
  const inherit = new Map<string, string>();
  try {
    // Anonymous volumes carry over, as in Compose; named ones carry over by name anyway.
    const info = await old.inspect();
    const named = new Set(op.want.spec.mounts.filter((m) => m.type === 'volume' && m.source).map((m) => m.target));
    for (const m of info.Mounts ?? []) if (m.Type === 'volume' && m.Name && !named.has(m.Destination)) inherit.set(m.Destination, m.Name);
  } catch {
    // Gone meanwhile: nothing to inherit.
  }
  const made = await createContainer(op.want, tempName(op.want.name), ctx, inherit);
  if (!made.ok) return made;
  const fresh = ctx.docker.getContainer(made.id);
  try {
    await removeContainer(ctx.docker, op.old);
  } catch (e) {
    await fresh.remove({ force: true }).catch(() => {});
    return fail('services.engine', `could not remove ${op.old.name} to replace it: ${msg(e)}`);
  }
  await fresh.rename({ name: op.want.name });
  if (op.start) await fresh.start();
  return op.wait ? waitJob(ctx, made.id, op.want) : { ok: true };
}

async function createContainer(want: Desired, name: string, ctx: ExecContext, inherit?: Map<string, string>): Promise<{ ok: true; id: string } | Extract<ApplyResult, { ok: false }>> {
  const ids = new Map<ContainerRef, string>();
  const resolved: Array<{ kind: Desired['links'][number]['kind']; id: string }> = [];
  for (const link of want.links) {
    const id = await resolveRef(link.ref, want.replica, ctx);
    if (!id) return { ok: false, error: { code: 'services.link', message: `${want.name} needs ${describeRef(link.ref, ctx.spec.service, want.replica)}, which has no container` } };
    ids.set(link.ref, id);
    if (link.ref.kind !== 'container') resolved.push({ kind: link.kind, id });
  }
  const labels: Record<string, string> = {
    [L.playbook]: ctx.spec.playbook,
    [L.service]: ctx.spec.service,
    [L.replica]: String(want.replica),
    [L.release]: ctx.release,
    [L.configHash]: want.hash,
    [L.configKeys]: JSON.stringify(want.keys),
    [L.image]: ctx.imageId(want.spec.image),
    [L.imageRef]: want.spec.image,
    [L.links]: linksLabel(resolved),
    ...(want.role ? { [L.sidecar]: want.role } : {}),
    ...(ctx.spec.job ? { [L.job]: 'true' } : {}),
  };
  const req = createRequest(want, { name, labels, idOf: (r) => ids.get(r) ?? '', inherit });
  // From the image the converge resolved (or built), by id: a tag moved since cannot change it.
  const imageId = ctx.imageId(want.spec.image);
  if (imageId.startsWith('sha256:')) req.body.Image = imageId;
  const c = await ctx.docker.createContainer(req.body);
  try {
    for (const n of req.connect) await ctx.docker.getNetwork(n.network).connect({ Container: c.id, EndpointConfig: n.endpoint });
  } catch (e) {
    await c.remove({ force: true }).catch(() => {});
    throw e;
  }
  ctx.ids.set(`${want.role}#${want.replica}`, c.id);
  return { ok: true, id: c.id };
}

async function resolveRef(ref: ContainerRef, replica: number, ctx: ExecContext): Promise<string | undefined> {
  if (ref.kind === 'container') return ref.name;
  if (ref.sameReplica) return ctx.ids.get(`${ref.sidecar ?? ''}#${replica}`);
  return ctx.otherService(ref.service);
}

const describeRef = (ref: ContainerRef, service: string, replica: number) =>
  ref.kind === 'container' ? `container ${ref.name}` : ref.sameReplica ? displayName(service, ref.sidecar ?? '', replica) : `service ${ref.service}`;

export async function removeContainer(docker: Docker, old: Pick<Observed, 'id' | 'state'>): Promise<void> {
  const c = docker.getContainer(old.id);
  // Stop first, so the container's stop signal and grace period are honoured.
  if (old.state === 'running' || old.state === 'restarting' || old.state === 'paused') {
    await c.stop().catch((e: { statusCode?: number }) => {
      if (e.statusCode !== 304 && e.statusCode !== 404) throw e;
    });
  }
  await c.remove({ force: true }).catch(async (e: { statusCode?: number; message?: string }) => {
    if (e.statusCode === 404) return;
    // Another agent (of a run cut short whose agent is still finishing its task) is removing
    // it already: wait for it to be gone rather than fail.
    if (e.statusCode === 409 && /already in progress/.test(e.message ?? '')) {
      for (let i = 0; i < 300; i++) {
        const gone = await c.inspect().then(() => false, (x: { statusCode?: number }) => x.statusCode === 404);
        if (gone) return;
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    throw e;
  });
}

/** A job runs to its end; its exit code is the outcome, its last lines the explanation. */
async function waitJob(ctx: ExecContext, id: string, want: Desired): Promise<ApplyResult> {
  const who = displayName(ctx.spec.service, want.role, want.replica);
  const c = ctx.docker.getContainer(id);
  let code: number;
  try {
    const r = (await c.wait({ abortSignal: ctx.signal } as object)) as { StatusCode: number };
    code = r.StatusCode;
  } catch (e) {
    if (ctx.signal.aborted) return fail('services.cancelled', `${who}: stopped waiting (cancelled); the job goes on on the host`);
    throw e;
  }
  const lines = await lastLines(ctx.docker, id);
  for (const line of lines) ctx.output('stdout', `${who} | ${line}`);
  if (code !== 0) return { ok: false, error: { code: 'services.job-failed', message: `job ${who} exited with ${code}`, detail: lines.slice(-5).join('\n') || undefined }, data: { exit_code: code } };
  ctx.output('stdout', `${who} exited with 0`);
  return { ok: true, data: { exit_code: 0 } };
}
