// `image`: makes sure an image is on the host — built there from a context on the controller
// (or on the host), shipped from the controller's engine layer by layer, or pulled from a
// registry — optionally pushes it, and prunes old builds of the same name. The controller turns
// the playbook's form into an ImageSpec first (controller/prepare/image.ts); the work is in
// agent/docker/, shared with the service converger. Reports the image by ID.
import { defineModule, failed } from './contract.js';
import type { PreparedImageParams } from './lib/docker-image-spec.js';
import { buildSchema, imageSchema, type ImageParams } from './params/image.js';

export { buildSchema, imageSchema, type ImageParams };

export const image = defineModule({
  name: 'image',
  schema: imageSchema,
  async plan(params, ctx) {
    // The agent receives the prepared form (controller/prepare/image.ts), not the playbook's.
    const p = params as unknown as PreparedImageParams;
    if (!p || typeof p !== 'object' || !p.spec) return failed('image.unprepared', 'image: the controller did not prepare this task (no image spec)');
    // Loaded on first use: the controller imports this file for its schema only.
    const docker = await import('../agent/docker/ensure-image.js');
    if (p.state === 'absent') {
      const removal = await docker.planRemoval(p.spec);
      if (!removal.ok) return removal;
      const { planPrune } = await import('../agent/docker/retention.js');
      const { repositoryOf } = await import('./lib/docker-image-spec.js');
      const prune = await planPrune(repositoryOf(p.spec.name), 0, () => undefined, 0, ctx);
      if (!prune.ok) return prune;
      return { ok: true, changes: [...removal.value, ...(prune.value ? [prune.value] : [])] };
    }
    const plan = await docker.planImage(p.spec, ctx, p.push);
    if (!plan.ok && plan.error.code === 'image.no-engine' && ctx.check) {
      // In a check run an earlier runtime task has not really installed the engine: say what
      // would happen rather than fail the host.
      const how = p.spec.source.kind === 'build' ? 'build' : p.spec.source.kind === 'ship' ? 'load' : 'pull';
      return { ok: true, changes: [{ summary: `${how} ${p.spec.name} (docker does not answer yet)`, cause: 'the engine is not running', apply: async () => plan }] };
    }
    if (!plan.ok) return plan;
    return { ok: true, changes: plan.value.changes, data: plan.value.current ? { image: plan.value.current } : undefined };
  },
});
