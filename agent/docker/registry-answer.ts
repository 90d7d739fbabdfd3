// What a registry said when a pull or a digest query failed, as a person needs it: the image
// reference, the registry's host, its own words ("manifest unknown", "unauthorized") and a hint
// that says what to change. The engine wraps the registry's answer in its own text and often
// repeats it ("manifest unknown: manifest unknown"); the repeat goes, the words stay.
import type { WireError } from '../../protocol/agent-protocol.js';
import { splitRef } from '../../modules/lib/docker-image-spec.js';

/** The registry's host for a reference: Docker Hub when the reference names none. */
export const registryHost = (ref: string): string => splitRef(ref).registry ?? 'docker.io';

/** "a: b: b" -> "a: b": the engine and the registry often say the same thing twice. */
function dedupe(text: string): string {
  const parts = text.trim().split(': ');
  return parts.filter((p, i) => i === 0 || p !== parts[i - 1]).join(': ');
}

export function registryFailure(ref: string, answer: string, opts: { user?: string; code?: string } = {}): WireError {
  const host = registryHost(ref);
  const said = dedupe(answer);
  const { repository, tag, digest } = splitRef(ref);
  let hint: string;
  if (/unauthorized|authentication required|no basic auth|denied|forbidden/i.test(said)) {
    hint = opts.user
      ? `${host} refused user ${opts.user}: check registries: "${host}" in the playbook (username, and the secret its password comes from)`
      : `${host} wants credentials: add them under registries: "${host}" in the playbook, the password from a secret`;
  } else if (/manifest unknown|not found|name unknown/i.test(said)) {
    hint = `${host} has no ${repository}${digest ? `@${digest}` : `:${tag ?? 'latest'}`}: push it there first, or fix the tag in image:`;
  } else if (/HTTP response to HTTPS client|connection refused|no such host|timeout|i\/o timeout|no route/i.test(said)) {
    hint = `this host's engine cannot reach ${host}: check the address; a registry served over plain HTTP must be in the engine's insecure-registries (runtime: { daemon: { insecure-registries: [...] } })`;
  } else {
    hint = `the registry ${host} could not serve ${ref}`;
  }
  return { code: opts.code ?? 'image.registry', message: `cannot pull ${ref}: the registry ${host} answered "${said}"`, detail: `hint: ${hint}` };
}
