// The operator's ~/.ssh/config, read the way OpenSSH reads it for the handful of directives berth
// honours. Parsing and Host/Match evaluation are the ssh-config package's; this file only picks
// the values out, expands OpenSSH's tokens and turns bad values into errors with the file's name.
import { readFileSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { isAbsolute, join } from 'node:path';
import SSHConfig from 'ssh-config';
import { err, ok, type BerthError, type Result } from '../errors.js';
import { sshError } from './errors.js';

/** The directives berth takes from ssh_config, already typed. Absent = not set in the file. */
export interface SshConfigValues {
  hostName?: string;
  user?: string;
  port?: number;
  identityFiles?: string[];
  identitiesOnly?: boolean;
  identityAgent?: string;
  proxyJump?: string;
  userKnownHostsFiles?: string[];
  globalKnownHostsFiles?: string[];
  hostKeyAlias?: string;
  strictHostKeyChecking?: string;
  hashKnownHosts?: boolean;
  connectTimeoutSeconds?: number;
  serverAliveIntervalSeconds?: number;
  serverAliveCountMax?: number;
}

interface Cached {
  mtimeMs: number;
  size: number;
  config: SSHConfig;
}
const cache = new Map<string, Cached>();

/**
 * Parses the file once per process (re-read only when it changes): a fleet of thousands of hosts
 * resolves against the same config. A missing file is an empty config, as it is for OpenSSH,
 * unless the operator named the file explicitly.
 */
export function loadSshConfig(path: string, explicit: boolean): Result<SSHConfig | undefined, BerthError> {
  let st;
  try {
    st = statSync(path);
  } catch {
    if (!explicit) return ok(undefined);
    return err(sshError('ssh.bad-config', `ssh config file ${path} does not exist`, path, 'fix the path given in BERTH_SSH_CONFIG or --ssh-config'));
  }
  const hit = cache.get(path);
  if (hit && hit.mtimeMs === st.mtimeMs && hit.size === st.size) return ok(hit.config);
  try {
    const config = SSHConfig.parse(readFileSync(path, 'utf8'));
    cache.set(path, { mtimeMs: st.mtimeMs, size: st.size, config });
    return ok(config);
  } catch (e) {
    return err(sshError('ssh.bad-config', `cannot read ssh config: ${(e as Error).message.split('\n')[0]}`, path));
  }
}

const first = (v: string | string[] | undefined): string | undefined => (Array.isArray(v) ? v[0] : v);
const all = (v: string | string[] | undefined): string[] | undefined =>
  v === undefined ? undefined : (Array.isArray(v) ? v : [v]).flatMap((s) => s.split(/\s+/)).filter(Boolean);
const yes = (v: string | undefined): boolean | undefined => (v === undefined ? undefined : /^(yes|true)$/i.test(v));

/** Values for the host the operator would type after `ssh`. */
export function lookupSshConfig(config: SSHConfig | undefined, host: string, path: string): Result<SshConfigValues, BerthError> {
  if (!config) return ok({});
  // Match exec would run a shell command per host while resolving: not worth it for a fleet, and
  // resolving an inventory should have no side effects.
  const c = config.compute(host, { ignoreCase: true, matchExec: false });
  const v: SshConfigValues = {};
  const bad = (what: string, value: string) =>
    err(sshError('ssh.bad-config', `${what} for host ${host} is not a valid value: ${JSON.stringify(value)}`, path));

  const str = (k: string) => first(c[k]);
  if (str('hostname')) v.hostName = str('hostname');
  if (str('user')) v.user = str('user');
  const port = str('port');
  if (port !== undefined) {
    const n = Number(port);
    if (!Number.isInteger(n) || n < 1 || n > 65535) return bad('Port', port);
    v.port = n;
  }
  const ids = c['identityfile'];
  if (ids !== undefined) v.identityFiles = Array.isArray(ids) ? ids : [ids];
  v.identitiesOnly = yes(str('identitiesonly'));
  if (str('identityagent')) v.identityAgent = str('identityagent');
  if (str('proxyjump')) v.proxyJump = str('proxyjump');
  v.userKnownHostsFiles = all(c['userknownhostsfile']);
  v.globalKnownHostsFiles = all(c['globalknownhostsfile']);
  if (str('hostkeyalias')) v.hostKeyAlias = str('hostkeyalias');
  if (str('stricthostkeychecking')) v.strictHostKeyChecking = str('stricthostkeychecking')!.toLowerCase();
  v.hashKnownHosts = yes(str('hashknownhosts'));
  for (const [key, field] of [
    ['connecttimeout', 'connectTimeoutSeconds'],
    ['serveraliveinterval', 'serverAliveIntervalSeconds'],
    ['serveralivecountmax', 'serverAliveCountMax'],
  ] as const) {
    const raw = str(key);
    if (raw === undefined) continue;
    const n = Number(raw);
    if (!Number.isFinite(n) || n < 0) return bad(key, raw);
    v[field] = n;
  }
  for (const k of Object.keys(v) as (keyof SshConfigValues)[]) if (v[k] === undefined) delete v[k];
  return ok(v);
}

export interface TokenContext {
  /** Remote host name (after HostName). */
  host: string;
  /** What the operator typed (the alias). */
  original: string;
  port: number;
  remoteUser: string;
  localUser: string;
  home: string;
}

/** OpenSSH's `~` and `%` tokens for path-like values (ssh_config(5) TOKENS). */
export function expandTokens(value: string, t: TokenContext): string {
  const tilde = value === '~' ? t.home : value.startsWith('~/') ? join(t.home, value.slice(2)) : value;
  return tilde.replace(/%(.)/g, (m, ch: string) => {
    switch (ch) {
      case '%': return '%';
      case 'd': return t.home;
      case 'h': return t.host;
      case 'n': return t.original;
      case 'p': return String(t.port);
      case 'r': return t.remoteUser;
      case 'u': return t.localUser;
      default: return m;
    }
  });
}

/** Relative paths in ssh_config are relative to ~/.ssh, as in OpenSSH. */
export function sshPath(value: string, t: TokenContext): string {
  const p = expandTokens(value, t);
  return isAbsolute(p) ? p : join(t.home, '.ssh', p);
}

export const defaultSshConfigPath = (home: string = homedir()): string => join(home, '.ssh', 'config');

/**
 * Whether the ssh_config berth reads ($BERTH_SSH_CONFIG, else ~/.ssh/config) has a `Host` entry
 * for exactly this name: an alias a jump host may be written as, which ssh_config maps.
 */
export function sshConfigHasHost(name: string, env: NodeJS.ProcessEnv = process.env, home: string = homedir()): boolean {
  const path = env.BERTH_SSH_CONFIG || defaultSshConfigPath(home);
  const loaded = loadSshConfig(path, false);
  if (!loaded.ok || !loaded.value) return false;
  const names = (v: unknown): string[] => (typeof v === 'string' ? v.split(/\s+/) : Array.isArray(v) ? v.map((x) => String((x as { val?: unknown }).val ?? x)) : []);
  return loaded.value.some((section) => 'param' in section && String(section.param).toLowerCase() === 'host' && names(section.value).includes(name));
}
