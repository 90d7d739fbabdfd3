// How this host talks to etcd, for the registry and the fleet lock alike: its endpoints, and
// where the cluster asks for them, TLS (a CA to trust, a client certificate and key) and a user
// and password. The certificate files are on the host (put there by the playbook, e.g. `copy`);
// they are read each time a client is made, so a renewed certificate is used at the next connect.
import { readFileSync } from 'node:fs';
import type { IOptions } from 'etcd3';
import { done, trouble, type BackendConfig, type Outcome } from './types.js';

export type EtcdBackend = Extract<BackendConfig, { kind: 'etcd' }>;

/** Every call but the streams (watches, lease keepalives) has a deadline. */
export const CALL_TIMEOUT_MS = 3000;

export function etcdOptions(b: EtcdBackend): Outcome<IOptions> {
  const base: IOptions = {
    hosts: b.endpoints,
    dialTimeout: CALL_TIMEOUT_MS,
    defaultCallOptions: (ctx) => (ctx.isStream ? {} : { deadline: Date.now() + CALL_TIMEOUT_MS }),
  };
  let credentials: IOptions['credentials'];
  if (b.tls) {
    const read = (what: 'ca' | 'cert' | 'key'): Outcome<Buffer | undefined> => {
      const path = b.tls![what];
      if (path === undefined) return done(undefined);
      try {
        return done(readFileSync(path));
      } catch (e) {
        return trouble('registry.etcd-tls', `etcd: cannot read tls.${what} ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, 'put the file on the host first (a copy task before the registry task)');
      }
    };
    const ca = read('ca');
    if (!ca.ok) return ca;
    const cert = read('cert');
    if (!cert.ok) return cert;
    const key = read('key');
    if (!key.ok) return key;
    // No CA: the system's roots vouch for the server (gRPC's default).
    credentials = { rootCertificate: ca.value as Buffer, ...(key.value ? { privateKey: key.value } : {}), ...(cert.value ? { certChain: cert.value } : {}) };
  }
  return done({ ...base, ...(credentials ? { credentials } : {}), ...(b.auth ? { auth: { username: b.auth.username, password: b.auth.password } } : {}) });
}
