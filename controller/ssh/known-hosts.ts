// OpenSSH's known_hosts format (sshd(8) "SSH_KNOWN_HOSTS FILE FORMAT"): plain and hashed host
// names, pattern lists with negation, `[host]:port`, `@revoked` and `@cert-authority` markers.
// Written by hand because it is a small, fixed format and no maintained package reads all of it.
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { appendFileSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { dirname } from 'node:path';

export interface KnownHostEntry {
  file: string;
  /** 1-based. */
  line: number;
  marker?: 'revoked' | 'cert-authority';
  /** The host field as written: a pattern list, or one `|1|salt|hash`. */
  hosts: string;
  keyType: string;
  /** The key in SSH wire format: what the server sends and what the base64 field encodes. */
  key: Buffer;
}

/** The name OpenSSH files a host key under: `host` on port 22, else `[host]:port`. */
export function knownHostsName(host: string, port: number): string {
  const h = host.toLowerCase();
  return port === 22 ? h : `[${h}]:${port}`;
}

/** `SHA256:...` as `ssh-keygen -lf` prints it. */
export function fingerprint(key: Buffer): string {
  return 'SHA256:' + createHash('sha256').update(key).digest('base64').replace(/=+$/, '');
}

/** The algorithm name inside a wire-format key: a uint32 length then that many bytes. */
export function keyTypeOf(key: Buffer): string | undefined {
  if (key.length < 4) return undefined;
  const n = key.readUInt32BE(0);
  if (n === 0 || n > 64 || 4 + n > key.length) return undefined;
  return key.subarray(4, 4 + n).toString('latin1');
}

export function parseKnownHosts(text: string, file: string): KnownHostEntry[] {
  const out: KnownHostEntry[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i]!.trim();
    if (!raw || raw.startsWith('#')) continue;
    const fields = raw.split(/\s+/);
    let marker: KnownHostEntry['marker'];
    if (fields[0]!.startsWith('@')) {
      const m = fields.shift()!;
      if (m === '@revoked') marker = 'revoked';
      else if (m === '@cert-authority') marker = 'cert-authority';
      else continue; // unknown marker: OpenSSH ignores the line
    }
    const [hosts, keyType, b64] = fields;
    if (!hosts || !keyType || !b64) continue;
    // A malformed line is skipped, as OpenSSH does: one bad line must not lock out a fleet.
    if (!/^[A-Za-z0-9+/]+={0,2}$/.test(b64)) continue;
    const key = Buffer.from(b64, 'base64');
    if (keyTypeOf(key) !== keyType) continue;
    const entry: KnownHostEntry = { file, line: i + 1, hosts, keyType, key };
    if (marker) entry.marker = marker;
    out.push(entry);
  }
  return out;
}

/** OpenSSH's wildcard patterns: `*` any run, `?` any one character; case-insensitive. */
export function wildcardMatch(pattern: string, name: string): boolean {
  const re = new RegExp('^' + pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.') + '$', 'i');
  return re.test(name);
}

export function hostsFieldMatches(hosts: string, name: string): boolean {
  if (hosts.startsWith('|1|')) {
    const [, , salt, hash] = hosts.split('|');
    if (!salt || !hash) return false;
    const want = Buffer.from(hash, 'base64');
    const got = createHmac('sha1', Buffer.from(salt, 'base64')).update(name).digest();
    return want.length === got.length && timingSafeEqual(want, got);
  }
  let matched = false;
  for (const pattern of hosts.split(',')) {
    if (!pattern) continue;
    // A negated pattern that matches rules the whole line out, whatever else matches.
    if (pattern.startsWith('!')) {
      if (wildcardMatch(pattern.slice(1), name)) return false;
    } else if (wildcardMatch(pattern, name)) matched = true;
  }
  return matched;
}

export type HostKeyCheck =
  | { status: 'known'; entry: KnownHostEntry }
  | { status: 'revoked'; entry: KnownHostEntry }
  /** Entries of the same key type exist for this host, with other keys. */
  | { status: 'changed'; entries: KnownHostEntry[] }
  /** Keys are on file for this host, but only of other types than the one presented. */
  | { status: 'other-type'; entries: KnownHostEntry[] }
  | { status: 'unknown' };

export function checkHostKey(entries: KnownHostEntry[], name: string, key: Buffer): HostKeyCheck {
  const type = keyTypeOf(key);
  const forHost: KnownHostEntry[] = [];
  for (const e of entries) {
    if (e.marker === 'revoked') {
      // Revocation is by key, whoever presents it.
      if (e.key.equals(key)) return { status: 'revoked', entry: e };
      continue;
    }
    if (e.marker === 'cert-authority') continue; // berth does not do host certificates
    if (hostsFieldMatches(e.hosts, name)) forHost.push(e);
  }
  const same = forHost.find((e) => e.key.equals(key));
  if (same) return { status: 'known', entry: same };
  const sameType = forHost.filter((e) => e.keyType === type);
  if (sameType.length) return { status: 'changed', entries: sameType };
  if (forHost.length) return { status: 'other-type', entries: forHost };
  return { status: 'unknown' };
}

/** Key types on file for a host, so the handshake can ask for a type we can verify. */
export function knownKeyTypes(entries: KnownHostEntry[], name: string): string[] {
  const types = new Set<string>();
  for (const e of entries) if (!e.marker && hostsFieldMatches(e.hosts, name)) types.add(e.keyType);
  return [...types];
}

interface Cached { mtimeMs: number; size: number; entries: KnownHostEntry[] }
const cache = new Map<string, Cached>();

/** Entries of every readable file, in order; a missing file has none. Parsed once per change. */
export function readKnownHosts(files: string[]): KnownHostEntry[] {
  const out: KnownHostEntry[] = [];
  for (const file of files) {
    let st;
    try {
      st = statSync(file);
    } catch {
      continue;
    }
    const hit = cache.get(file);
    if (hit && hit.mtimeMs === st.mtimeMs && hit.size === st.size) {
      out.push(...hit.entries);
      continue;
    }
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    const entries = parseKnownHosts(text, file);
    cache.set(file, { mtimeMs: st.mtimeMs, size: st.size, entries });
    out.push(...entries);
  }
  return out;
}

export function formatKnownHostsLine(name: string, key: Buffer, hashed: boolean): string {
  const type = keyTypeOf(key) ?? 'unknown';
  let hosts = name;
  if (hashed) {
    const salt = randomBytes(20);
    hosts = `|1|${salt.toString('base64')}|${createHmac('sha1', salt).update(name).digest('base64')}`;
  }
  return `${hosts} ${type} ${key.toString('base64')}`;
}

/**
 * Appends one line (creating the file 0600 and its folder 0700 if needed). Synchronous on
 * purpose: many connections may accept keys at once and a sync append cannot interleave with
 * another in this process. Returns the new entry's line number.
 */
export function appendKnownHost(file: string, name: string, key: Buffer, hashed: boolean): number {
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  let prefix = '';
  let lines = 0;
  try {
    const text = readFileSync(file, 'utf8');
    if (text.length && !text.endsWith('\n')) prefix = '\n';
    lines = text.split('\n').length - (text.endsWith('\n') || !text.length ? 1 : 0);
  } catch {
    // no file yet
  }
  appendFileSync(file, `${prefix}${formatKnownHostsLine(name, key, hashed)}\n`, { mode: 0o600 });
  cache.delete(file);
  return lines + 1;
}
