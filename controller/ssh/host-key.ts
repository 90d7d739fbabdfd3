// The host key policy: known keys pass, changed and revoked keys never do, unknown hosts only with
// the operator's opt-in (then the key is recorded so the next run verifies it).
import { existsSync } from 'node:fs';
import type { BerthError } from '../errors.js';
import { sshError } from './errors.js';
import {
  appendKnownHost,
  checkHostKey,
  fingerprint,
  keyTypeOf,
  knownHostsName,
  knownKeyTypes,
  readKnownHosts,
  type KnownHostEntry,
} from './known-hosts.js';
import { labelTarget, type SshTarget } from './target.js';

export interface HostKeyVerifier {
  /** For ssh2's `hostVerifier`: true lets the handshake go on. */
  verify(key: Buffer): boolean;
  /** Why verify() said no, once it has. */
  readonly failure: BerthError | undefined;
  /** Host key algorithms, the ones we hold keys for first (as OpenSSH orders them). */
  readonly algorithms: string[];
  /** Set when a new key was recorded: file and line. */
  readonly recorded: { file: string; line: number } | undefined;
}

/** ssh2's host key algorithms, best first. */
const ALL_ALGORITHMS = [
  'ssh-ed25519',
  'ecdsa-sha2-nistp256',
  'ecdsa-sha2-nistp384',
  'ecdsa-sha2-nistp521',
  'rsa-sha2-512',
  'rsa-sha2-256',
  'ssh-rsa',
];
const ALGORITHMS_FOR_KEY_TYPE: Record<string, string[]> = {
  'ssh-rsa': ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'],
};

const at = (e: KnownHostEntry) => `${e.file}:${e.line}`;

export function createHostKeyVerifier(target: SshTarget, acceptNew: boolean): HostKeyVerifier {
  const name = target.hostKeyAlias ?? knownHostsName(target.host, target.port);
  const files = [...target.knownHostsFiles, ...target.globalKnownHostsFiles];
  const entries = readKnownHosts(files);
  const preferred = knownKeyTypes(entries, name).flatMap((t) => ALGORITHMS_FOR_KEY_TYPE[t] ?? [t]);
  const algorithms = [...new Set([...preferred.filter((a) => ALL_ALGORITHMS.includes(a)), ...ALL_ALGORITHMS])];
  const who = labelTarget(target);
  const removeHint = (file: string) => `ssh-keygen -R '${name}' -f ${file}`;
  const optIn = '--accept-new-host-keys (or BERTH_ACCEPT_NEW_HOST_KEYS=1)';

  const state: { failure: BerthError | undefined; recorded: { file: string; line: number } | undefined } = {
    failure: undefined,
    recorded: undefined,
  };
  const refuse = (e: BerthError) => {
    state.failure = e;
    return false;
  };

  const verify = (key: Buffer): boolean => {
    // Re-read: another connection of this run may have just recorded this host (same bastion).
    const check = checkHostKey(readKnownHosts(files), name, key);
    const type = keyTypeOf(key) ?? 'unknown';
    const fp = `${type} ${fingerprint(key)}`;
    switch (check.status) {
      case 'known':
        return true;
      case 'revoked':
        return refuse(sshError('ssh.host-key-revoked',
          `${who} presented a host key marked @revoked at ${at(check.entry)} (${fp}); refusing to connect`,
          target.name, 'the host must get a new host key; do not remove the @revoked line'));
      case 'changed': {
        const old = check.entries[0]!;
        return refuse(sshError('ssh.host-key-changed',
          `host key for ${name} has CHANGED: ${at(old)} holds a different ${old.keyType} key; the host now presents ${fp}. ` +
            'Someone may be intercepting the connection, or the host was re-installed; refusing to connect',
          target.name,
          `if you know the host was re-installed, remove the old key with \`${removeHint(old.file)}\`, then run again with ${optIn}`));
      }
      case 'other-type': {
        const old = check.entries[0]!;
        return refuse(sshError('ssh.host-key-changed',
          `host key for ${name} does not match: ${at(old)} holds a ${old.keyType} key, but the host offers only ${fp}; refusing to connect`,
          target.name,
          `if the host's keys were legitimately replaced, remove the old key with \`${removeHint(old.file)}\`, then run again with ${optIn}`));
      }
      case 'unknown': {
        const file = target.knownHostsFiles[0];
        if (!(acceptNew || target.acceptNewHostKeys) || !file) {
          // The files that exist, and always the one keys would be recorded in.
          const seen = files.filter((f, i) => (file !== undefined && i === 0) || existsSync(f));
          const looked = seen.length ? `looked in ${seen.join(', ')}` : 'no known_hosts file is configured';
          return refuse(sshError('ssh.host-key-unknown',
            `host key for ${name} is not known (${fp}; ${looked}); refusing to connect`,
            target.name,
            file
              ? `check the fingerprint with the host's owner (\`ssh-keygen -lf /etc/ssh/ssh_host_${type.replace(/^ssh-|-.*$/g, '')}_key.pub\` on the host), then run again with ${optIn} to record it in ${file}`
              : 'set known_hosts for this host in the inventory, or UserKnownHostsFile in ~/.ssh/config'));
        }
        try {
          const line = appendKnownHost(file, name, key, target.hashKnownHosts);
          state.recorded = { file, line };
          return true;
        } catch (e) {
          return refuse(sshError('ssh.host-key-unknown',
            `host key for ${name} is not known and could not be recorded in ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
            target.name, `make ${file} writable, or add the key yourself (${fp})`));
        }
      }
    }
  };

  return {
    verify,
    algorithms,
    get failure() {
      return state.failure;
    },
    get recorded() {
      return state.recorded;
    },
  };
}
