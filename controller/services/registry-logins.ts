// The playbook's `registries:` for one host: the login an image reference's registry host needs,
// rendered with the host's vars only when an image of the play comes from that registry (a
// playbook's other logins never cost a missing secret). A password is a secret's value or
// nothing: one from a plain var or `-e` would reach the output unmasked, so the plan refuses it.
import { splitRef } from '../../modules/lib/docker-image-spec.js';
import type { PullAuth } from '../../modules/service-spec.js';
import { err, ok, type BerthError, type Result } from '../errors.js';
import { renderValue, type RenderScope } from '../run/render.js';

export interface RegistryLoginInput {
  username: string;
  password: string;
}

/** Docker Hub's many names, as `docker login` accepts them. */
const HUB = new Set(['docker.io', 'index.docker.io', 'registry-1.docker.io', 'registry.hub.docker.com']);

/** A registry host as logins are keyed: lower case, Docker Hub as docker.io. */
export function registryKey(host: string): string {
  const h = host.toLowerCase();
  return HUB.has(h) ? 'docker.io' : h;
}

/** The registry key of an image reference (Docker Hub when it names no registry). */
export const registryOfRef = (ref: string): string => registryKey(splitRef(ref).registry ?? 'docker.io');

export type LoginFor = (ref: string) => Result<PullAuth | undefined, BerthError>;

/**
 * `secrets`: the run's secret values; undefined where no secrets are loaded at all (then a
 * password cannot be checked, and is refused only by its template failing to render).
 */
export function registryLogins(
  registries: Record<string, RegistryLoginInput> | undefined,
  scope: RenderScope,
  where: (path: Array<string | number>) => string,
  secrets: readonly string[] | undefined,
): LoginFor {
  const byKey = new Map(Object.entries(registries ?? {}).map(([host, login]) => [registryKey(host), { host, login }]));
  const cache = new Map<string, Result<PullAuth | undefined, BerthError>>();
  return (ref) => {
    const key = registryOfRef(ref);
    const hit = cache.get(key);
    if (hit) return hit;
    const entry = byKey.get(key);
    let r: Result<PullAuth | undefined, BerthError>;
    if (!entry) r = ok(undefined);
    else {
      const rendered = renderValue(entry.login, scope, where(['registries', entry.host]));
      if (!rendered.ok) r = rendered;
      else {
        const { username, password } = rendered.value.value as RegistryLoginInput;
        if (secrets && !secrets.includes(password)) {
          r = err({
            code: 'registry.password-not-secret',
            message: `registries: "${entry.host}": the password is not the value of a secret var, so it would be shown unmasked`,
            where: where(['registries', entry.host, 'password']),
            hint: 'declare it under secrets: ({env: NAME} or {file: PATH}) and write password: "{{ that_secret }}"',
            exit: 2,
          });
        } else r = ok({ username: String(username), password: String(password), ...(key === 'docker.io' ? {} : { registry: splitRef(ref).registry ?? entry.host }) });
      }
    }
    cache.set(key, r);
    return r;
  };
}
