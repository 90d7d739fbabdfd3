// Which images of a service come from a registry, and how (Compose's pull_policy, with the
// registry's login): the service's own image unless it has `build:`, and every sidecar's. The
// digests are filled in later, once per run (pin-digests.ts).
import type { PullSpec, ServiceSpec } from '../../modules/service-spec.js';
import type { Service } from '../../schema/service.js';
import type { BerthError, Result } from '../errors.js';
import { err, ok } from '../errors.js';
import type { LoginFor } from './registry-logins.js';

type Policy = NonNullable<Service['pull_policy']>;

/** Compose's words to berth's: if_not_present is missing; the default is missing. */
const policyOf = (p: Policy | undefined): PullSpec['policy'] | 'build' => (p === undefined || p === 'if_not_present' ? 'missing' : p);

export function pullSpecs(svc: Service, spec: ServiceSpec, login: LoginFor, where: (key: Array<string | number>) => string): Result<Record<string, PullSpec> | undefined, BerthError> {
  const out: Record<string, PullSpec> = {};
  const add = (ref: string, policy: Policy | undefined, key: Array<string | number>): BerthError | undefined => {
    const p = policyOf(policy);
    if (p === 'build') {
      return { code: 'service.pull-policy', message: 'pull_policy: build needs build: (there is nothing to build)', where: where([...key, 'pull_policy']), hint: 'add build: (a folder with a Dockerfile), or use missing, always or never', exit: 2 };
    }
    if (ref in out) return undefined;
    const auth = login(ref);
    if (!auth.ok) return auth.error;
    out[ref] = { policy: p, ...(auth.value ? { auth: auth.value } : {}) };
    return undefined;
  };
  // A service's build makes its image (pull_policy: build only forbids using one berth did not build).
  if (svc.build === undefined) {
    const problem = add(spec.main.image, svc.pull_policy, []);
    if (problem) return err(problem);
  }
  for (const s of spec.sidecars) {
    const problem = add(s.spec.image, svc.sidecars?.[s.name]?.pull_policy, ['sidecars', s.name]);
    if (problem) return err(problem);
  }
  return ok(Object.keys(out).length ? out : undefined);
}
