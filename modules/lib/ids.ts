// Owner and group names to numeric ids, read fresh on every call: an earlier task of the same
// plan may just have created the user. /etc/passwd and /etc/group answer for local accounts;
// getent covers the rest (LDAP, sssd) without a native addon.
import { readFileSync } from 'node:fs';
import type { WireError } from '../../protocol/agent-protocol.js';
import { capture } from './exec.js';

export interface Account {
  name: string;
  id: number;
  fields: string[];
}

type Db = 'passwd' | 'group';

function fromFile(db: Db, key: string): Account | undefined {
  let text: string;
  try {
    text = readFileSync(`/etc/${db}`, 'utf8');
  } catch {
    return undefined;
  }
  const numeric = /^\d+$/.test(key);
  for (const line of text.split('\n')) {
    const f = line.split(':');
    if (f.length < 3 || line.startsWith('#')) continue;
    if (numeric ? f[2] === key : f[0] === key) return { name: f[0], id: Number(f[2]), fields: f };
  }
  return undefined;
}

/** One entry of the passwd or group database, or undefined when there is none. */
export async function getent(db: Db, key: string): Promise<Account | undefined> {
  const local = fromFile(db, key);
  if (local) return local;
  const r = await capture(['getent', db, key]);
  if (r.code !== 0) return undefined;
  const f = r.stdout.split('\n')[0].split(':');
  return f.length >= 3 ? { name: f[0], id: Number(f[2]), fields: f } : undefined;
}

export type IdResult = { ok: true; id: number } | { ok: false; error: WireError };

async function resolve(db: Db, what: 'user' | 'group', key: string | number): Promise<IdResult> {
  const k = String(key);
  const found = await getent(db, k);
  if (found) return { ok: true, id: found.id };
  // A number that names no account is still a valid id (files owned by removed users).
  if (/^\d+$/.test(k)) return { ok: true, id: Number(k) };
  return { ok: false, error: { code: `file.unknown-${what}`, message: `no ${what} named "${k}" on this host` } };
}

export const uidOf = (owner: string | number) => resolve('passwd', 'user', owner);
export const gidOf = (group: string | number) => resolve('group', 'group', group);

/** A readable name for an id, for summaries: `www-data (33)`. */
export async function nameOf(db: Db, id: number): Promise<string> {
  const found = await getent(db, String(id));
  return found ? found.name : String(id);
}
