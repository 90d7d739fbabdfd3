// One connection per host for the whole run, and one per jump host however many hosts sit
// behind it: a bastion sees a single login and N forwarded channels instead of N logins racing
// its MaxStartups limit.
import type { BerthError, Result } from '../errors.js';
import { connect, type ConnectOptions } from './connect.js';
import type { SshSession } from './session.js';
import type { SshTarget } from './target.js';

export interface SshPool {
  /** The session for this host, connecting on first use. Callers asking at once share one attempt. */
  get(target: SshTarget): Promise<Result<SshSession, BerthError>>;
  /** Closes every session, hosts first, then the jump hosts they go through. */
  closeAll(): void;
}

const address = (t: SshTarget): string => `${t.user}@${t.host}:${t.port}${t.jump ? ` via ${address(t.jump)}` : ''}`;

export function createSshPool(opts: Omit<ConnectOptions, 'jumpSession'> = {}): SshPool {
  const hosts = new Map<string, Promise<Result<SshSession, BerthError>>>();
  const jumps = new Map<string, Promise<Result<SshSession, BerthError>>>();

  // A failed or closed connection leaves the pool, so asking again tries again.
  const remember = (map: typeof hosts, key: string, p: Promise<Result<SshSession, BerthError>>) => {
    map.set(key, p);
    void p.then((r) => {
      if (!r.ok) {
        if (map.get(key) === p) map.delete(key);
        return;
      }
      r.value.onClose(() => {
        if (map.get(key) === p) map.delete(key);
      });
    });
    return p;
  };

  const jumpSession = (jump: SshTarget): Promise<Result<SshSession, BerthError>> => {
    const key = address(jump);
    return jumps.get(key) ?? remember(jumps, key, connect(jump, { ...opts, jumpSession }));
  };

  return {
    get(target) {
      // The inventory name is part of the key: two entries for one address may differ in become.
      const key = `${target.name}|${address(target)}`;
      return hosts.get(key) ?? remember(hosts, key, connect(target, { ...opts, jumpSession }));
    },
    closeAll() {
      const close = (map: typeof hosts) => {
        for (const p of map.values()) void p.then((r) => r.ok && r.value.close());
        map.clear();
      };
      close(hosts);
      close(jumps);
    },
  };
}
