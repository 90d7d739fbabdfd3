// Which credentials to offer, in which order, and what to tell the operator when none worked.
// Keys only: each identity file, then the agent. Never a password or keyboard prompt, because a
// run over a fleet has nobody at the keyboard for each host.
import { readFileSync, statSync } from 'node:fs';
import ssh2, { type AnyAuthMethod, type AuthenticationType, type AuthHandlerMiddleware, type ParsedKey } from 'ssh2';
import type { BerthError } from '../errors.js';
import { sshError } from './errors.js';
import { describeTarget, type SshTarget } from './target.js';

interface LoadedKey {
  mtimeMs: number;
  key?: ParsedKey;
  /** Why the file cannot be offered, for the message. */
  unusable?: string;
}
const keys = new Map<string, LoadedKey>();

/** Parsed once per file per process: a fleet run offers the same key to every host. */
function loadKey(path: string): LoadedKey {
  let mtimeMs = -1;
  try {
    mtimeMs = statSync(path).mtimeMs;
  } catch {
    return { mtimeMs, unusable: 'missing' };
  }
  const hit = keys.get(path);
  if (hit && hit.mtimeMs === mtimeMs) return hit;
  let loaded: LoadedKey;
  try {
    const parsed = ssh2.utils.parseKey(readFileSync(path));
    const key = Array.isArray(parsed) ? (parsed[0] as ParsedKey | undefined) : parsed;
    if (key instanceof Error || !key) {
      const msg = key instanceof Error ? key.message : '';
      // ssh2's parse messages name the problem, never the key's content.
      loaded = { mtimeMs, unusable: /encrypted/i.test(msg) ? 'encrypted: add it to ssh-agent' : `not a usable private key${msg ? `: ${msg}` : ''}` };
    } else if (!key.isPrivateKey()) {
      loaded = { mtimeMs, unusable: 'a public key, not a private one' };
    } else loaded = { mtimeMs, key };
  } catch (e) {
    loaded = { mtimeMs, unusable: `unreadable (${(e as NodeJS.ErrnoException).code ?? 'error'})` };
  }
  keys.set(path, loaded);
  return loaded;
}

export interface AuthAttempts {
  handler: AuthHandlerMiddleware;
  /** The error to report when the server accepted nothing we offered. */
  failure(): BerthError;
}

export function planAuth(target: SshTarget): AuthAttempts {
  const queue: { label: string; method: AnyAuthMethod }[] = [];
  const skipped: string[] = [];
  for (const file of target.identityFiles) {
    const k = loadKey(file);
    if (k.key) queue.push({ label: file, method: { type: 'publickey', username: target.user, key: k.key } });
    else skipped.push(`${file} (${k.unusable})`);
  }
  if (target.agent) queue.push({ label: 'agent', method: { type: 'agent', username: target.user, agent: target.agent } });

  const offered: string[] = [];
  let serverMethods: AuthenticationType[] | undefined;

  const handler: AuthHandlerMiddleware = (authsLeft, _partial, next) => {
    // authsLeft is null before the first attempt; afterwards it is what the server still accepts.
    if (authsLeft) serverMethods = authsLeft;
    if (serverMethods && !serverMethods.includes('publickey')) return next(false as unknown as AuthenticationType);
    const attempt = queue.shift();
    if (!attempt) return next(false as unknown as AuthenticationType);
    offered.push(attempt.label);
    next(attempt.method);
  };

  const failure = (): BerthError => {
    const who = describeTarget(target);
    const hint = `check that the matching public key is in ~${target.user}/.ssh/authorized_keys on ${target.host}, or name the right key with \`key:\` in the inventory (IdentityFile in ~/.ssh/config)`;
    const skippedNote = skipped.length ? `; not offered: ${skipped.join(', ')}` : '';
    if (serverMethods && !serverMethods.includes('publickey'))
      return sshError('ssh.auth-failed', `${who} does not accept public keys (it offers: ${serverMethods.join(', ')}); berth authenticates with keys only`,
        target.name, 'enable PubkeyAuthentication in the host\'s sshd_config');
    if (offered.length === 0) {
      const none = target.identityFiles.length || skipped.length
        ? `no usable key${skippedNote}`
        : 'no key to offer: no identity file found (~/.ssh/id_ed25519, id_ecdsa, id_rsa) and no ssh-agent (SSH_AUTH_SOCK is not set)';
      return sshError('ssh.auth-failed', `cannot log in to ${who}: ${none}`, target.name, hint);
    }
    return sshError('ssh.auth-failed', `${who} refused every key offered (${offered.join(', ')})${skippedNote}`, target.name, hint);
  };

  return { handler, failure };
}
