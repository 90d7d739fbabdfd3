// Where and how to connect to an inventory host, its jump hosts included: a `jump:` naming another
// inventory host is reached the way that host is (its own address, key and jumps). A jump host
// that cannot be resolved is an error, never a direct connection in its place (which would reach
// around the bastion a fleet was set up behind), and a chain of jumps that comes back to itself
// is a cycle, not a stack overflow.
import { err, type BerthError, type Result } from '../errors.js';
import { sshError } from '../ssh/errors.js';
import { resolveTarget, type ResolveOptions, type SshTarget } from '../ssh/target.js';
import type { ResolvedHost, ResolvedInventory } from './resolve.js';

export function hostTarget(inventory: Pick<ResolvedInventory, 'byName'>, host: ResolvedHost, opts: ResolveOptions = {}): Result<SshTarget, BerthError> {
  return targetVia(inventory, host, opts, []);
}

function targetVia(inventory: Pick<ResolvedInventory, 'byName'>, host: ResolvedHost, opts: ResolveOptions, trail: string[]): Result<SshTarget, BerthError> {
  if (trail.includes(host.name)) {
    const loop = [...trail.slice(trail.indexOf(host.name)), host.name];
    return err(sshError('ssh.bad-config', `jump hosts form a cycle: ${loop.join(' -> ')}`, trail[0], 'one host of the cycle must be reached directly: give it jump: none, or remove its jump'));
  }
  if (!host.jumpHost) return resolveTarget(host.connection, opts);
  const jumpHost = inventory.byName.get(host.jumpHost);
  if (!jumpHost) return err(sshError('ssh.bad-config', `jump host ${JSON.stringify(host.jumpHost)} of ${host.name} is not in the inventory`, host.name));
  const jump = targetVia(inventory, jumpHost, opts, [...trail, host.name]);
  if (!jump.ok) {
    // A cycle is said once, by the host where it starts; anything else names the hop that failed.
    if (jump.error.message.startsWith('jump hosts form a cycle') || jump.error.message.startsWith('cannot resolve jump host')) return jump;
    return err({ ...jump.error, message: `cannot resolve jump host ${jumpHost.name} of ${host.name}: ${jump.error.message}`, where: host.name });
  }
  return resolveTarget({ ...host.connection, jump: jump.value }, opts);
}
