// Controller side of `image`: the playbook's keys become an ImageSpec (controller/images/): a
// build context scanned into content hashes, an image built or found on the controller's engine
// and taken apart into layer blobs, or a registry reference. Credentials pass through as given;
// from secret vars, their values are masked in everything the run prints.
import type { ImageParams } from '../../modules/params/image.js';
import type { PreparedImageParams } from '../../modules/lib/docker-image-spec.js';
import { prepareImageSpec } from '../images/prepare-spec.js';
import { ok } from '../errors.js';
import type { Prepare } from './contract.js';

export const prepareImage: Prepare = (params, ctx) => {
  const p = params as ImageParams;
  const state = p.state ?? 'present';
  const auth = p.auth ? { username: p.auth.username, password: p.auth.password, registry: p.auth.registry } : undefined;
  const input = state === 'absent' ? { name: p.name } : { name: p.name, build: p.build, builder: p.builder, ship: p.ship, pull: p.pull, auth, keep: p.keep };
  const spec = prepareImageSpec(input, { blobs: ctx.blobs, baseDir: ctx.baseDir, where: ctx.where, hostImages: ctx.scope.facts.images }, { tagName: true });
  if (!spec.ok) return spec;
  const push = p.push ? { ...p.push, auth: auth && (auth.registry === undefined || auth.registry === p.push.registry) ? auth : undefined } : undefined;
  return ok({ state, spec: spec.value, ...(push ? { push } : {}) } satisfies PreparedImageParams);
};
