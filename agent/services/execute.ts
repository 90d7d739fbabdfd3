// Carries out one operation of a service's plan against the engine. It makes no decisions (those
// are reconcile's): it only resolves, at the last moment, the ids of the containers a new one is
// tied to, and records the ids it creates for the operations after it.
import type Docker from 'dockerode';
import type { ApplyResult } from '../../modules/contract.js';
import type { ContainerRef, ServiceSpec } from '../../modules/service-spec.js';
import { createRequest } from './create-options.js';
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
}

const fail = (code: string, message: string, detail?: string): ApplyResult => ({ ok: false, error: { code, message, detail } });
const msg = (e: unknown) => (e as { json?: { message?: string } }).json?.message ?? (e as Error).message;

export async function execute(op: Op, ctx: ExecContext): Promise<ApplyResult> {
  try {
    switch (op.kind) {
      case 'remove':
        await removeContainer(ctx.docker, op.old);
        ctx.ids.delete(`${op.old.role}#${op.old.replica}`);
        return { ok: true };
      case 'start': {
        await ctx.docker.getContainer(op.old.id).start();
        return op.wait ? waitJob(ctx, op.old.id, op.want) : { ok: true };
      }
      case 'create': {
        const made = await createContainer(op.want, op.want.name, ctx);
        if (!made.ok) return made;
        if (op.start) await ctx.docker.getContainer(made.id).start();
        return op.wait ? waitJob(ctx, made.id, op.want) : { ok: true };
      }
      case 'recreate':
        return await recreate(op, ctx);
    }
  } catch (e) {
    return fail('services.engine', `${op.kind} ${'want' in op ? op.want.name : op.old.name}: ${msg(e)}`);
  }
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
    [L.links]: linksLabel(resolved),
    ...(want.role ? { [L.sidecar]: want.role } : {}),
    ...(ctx.spec.job ? { [L.job]: 'true' } : {}),
  };
  const req = createRequest(want, { name, labels, idOf: (r) => ids.get(r) ?? '', inherit });
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
  await c.remove({ force: true }).catch((e: { statusCode?: number }) => {
    if (e.statusCode !== 404) throw e;
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
