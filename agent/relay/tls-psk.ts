// Hosts talk to each other's relays over TLS with the run's pre-shared key: both ends prove they
// hold it, content is encrypted on the way, and nobody has certificates to issue or trust.
// TLS-PSK is TLS 1.2 in Node (1.3 resumption PSKs are another thing).
import type { ConnectionOptions, TlsOptions } from 'node:tls';

const IDENTITY = 'berth-relay';
const TLS = { ciphers: 'PSK-AES256-GCM-SHA384:PSK-AES128-GCM-SHA256', minVersion: 'TLSv1.2', maxVersion: 'TLSv1.2' } as const;

export function serverTls(key: Buffer): TlsOptions {
  return { ...TLS, pskIdentityHint: IDENTITY, pskCallback: (_socket, identity) => (identity === IDENTITY ? key : null) };
}

export function clientTls(key: Buffer): ConnectionOptions {
  // No certificate is involved, so there is no server identity to check beyond the key.
  return { ...TLS, pskCallback: () => ({ psk: key, identity: IDENTITY }), checkServerIdentity: () => undefined };
}

/** The first line each side sends: the request, then the answer; content follows an ok answer. */
export interface RelayAsk {
  sha256: string;
  from: number;
}
export type RelayAnswer = { ok: true } | { ok: false; message: string };
