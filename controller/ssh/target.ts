// Where and as whom to connect: an inventory entry merged with ~/.ssh/config and OpenSSH's
// defaults into one plain value that connect() can use without looking anything else up.
import { existsSync } from 'node:fs';
import { homedir, userInfo } from 'node:os';
import { isAbsolute, resolve as resolvePath, join } from 'node:path';
import { err, ok, type BerthError, type Result } from '../errors.js';
import { sshError } from './errors.js';
import { defaultSshConfigPath, expandTokens, loadSshConfig, lookupSshConfig, sshPath, type SshConfigValues, type TokenContext } from './ssh-config.js';

/** The SSH-relevant part of an inventory host entry. */
export interface InventoryHost {
  name: string;
  /** What one would type after `ssh`: an address, or an alias that ~/.ssh/config maps. Default: name. */
  address?: string;
  port?: number;
  user?: string;
  /** Private key file. */
  key?: string;
  /** known_hosts file that both verifies this host and records its key when accepting new keys. */
  known_hosts?: string;
  become?: boolean;
  /** Jump host: a resolved target, or `[user@]host[:port]` (comma-separated for several hops). */
  jump?: SshTarget | string;
}

export interface SshTarget {
  /** Inventory name, used in messages. */
  name: string;
  /** Address the connection goes to (through the jump host's forward when there is one). */
  host: string;
  port: number;
  user: string;
  /** Private key files offered in order, before the agent. */
  identityFiles: string[];
  /** ssh-agent socket offered after the files; absent when there is none. */
  agent?: string;
  /** Checked for the host key; the first one records newly accepted keys. */
  knownHostsFiles: string[];
  /** Also checked, never written (GlobalKnownHostsFile). */
  globalKnownHostsFiles: string[];
  /** Name the host key is filed under instead of host/[host]:port (HostKeyAlias). */
  hostKeyAlias?: string;
  /** ssh_config's `StrictHostKeyChecking accept-new` for this host. */
  acceptNewHostKeys?: boolean;
  /** Record new keys hashed (HashKnownHosts yes). */
  hashKnownHosts: boolean;
  connectTimeoutMs: number;
  keepaliveIntervalMs: number;
  keepaliveCountMax: number;
  become: boolean;
  jump?: SshTarget;
}

export interface ResolveOptions {
  /** ssh_config to read; null reads none. Default: $BERTH_SSH_CONFIG, else ~/.ssh/config. */
  sshConfigPath?: string | null;
  /** Relative `key` / `known_hosts` paths in the inventory are relative to this (the inventory's folder). */
  baseDir?: string;
  home?: string;
  localUser?: string;
  env?: NodeJS.ProcessEnv;
  connectTimeoutMs?: number;
  keepaliveIntervalMs?: number;
  keepaliveCountMax?: number;
}

const DEFAULT_KEYS = ['id_ed25519', 'id_ecdsa', 'id_rsa'];
const MAX_JUMP_DEPTH = 8;

/** `user@host:port`, how messages name a target. */
export const describeTarget = (t: Pick<SshTarget, 'user' | 'host' | 'port'>): string =>
  `${t.user}@${t.host.includes(':') ? `[${t.host}]` : t.host}:${t.port}`;

/** `name (user@host:port)`, or just the address when the name says nothing more. */
export function labelTarget(t: Pick<SshTarget, 'name' | 'user' | 'host' | 'port'>): string {
  const addr = describeTarget(t);
  return t.name === addr || addr.endsWith(`@${t.name}:${t.port}`) || t.name.includes('@') ? addr : `${t.name} (${addr})`;
}

/**
 * Precedence, per field: the inventory entry wins over ~/.ssh/config, which wins over the
 * defaults (current user, port 22, ~/.ssh/id_{ed25519,ecdsa,rsa}, $SSH_AUTH_SOCK). The inventory
 * wins because it is the file this run was asked to apply; ssh_config is the operator's standing
 * preference. The one exception is the address itself: it is the name ssh_config is looked up
 * by, so a `HostName` there maps it (as `ssh alias` does).
 */
export function resolveTarget(host: InventoryHost, opts: ResolveOptions = {}): Result<SshTarget, BerthError> {
  return resolveAt(host, opts, 0);
}

function resolveAt(host: InventoryHost, opts: ResolveOptions, depth: number): Result<SshTarget, BerthError> {
  const env = opts.env ?? process.env;
  const home = opts.home ?? homedir();
  const localUser = opts.localUser ?? safeUserName(env);
  const where = host.name;
  const typed = host.address ?? host.name;

  const explicitConfig = opts.sshConfigPath !== undefined ? opts.sshConfigPath : env.BERTH_SSH_CONFIG || undefined;
  const configPath = explicitConfig === null ? undefined : explicitConfig ?? defaultSshConfigPath(home);
  let cfg: SshConfigValues = {};
  if (configPath) {
    const loaded = loadSshConfig(configPath, explicitConfig != null);
    if (!loaded.ok) return loaded;
    const looked = lookupSshConfig(loaded.value, typed, configPath);
    if (!looked.ok) return looked;
    cfg = looked.value;
  }

  const port = host.port ?? cfg.port ?? 22;
  if (!Number.isInteger(port) || port < 1 || port > 65535)
    return err(sshError('ssh.bad-config', `port ${port} is not a TCP port`, where));
  const user = host.user ?? cfg.user ?? localUser;
  const tok = (h: string): TokenContext => ({ host: h, original: typed, port, remoteUser: user, localUser, home });
  const hostName = cfg.hostName ? expandTokens(cfg.hostName, tok(typed)) : typed;
  const t = tok(hostName);
  const fromInventory = (p: string) => {
    const e = expandTokens(p, t);
    return isAbsolute(e) ? e : resolvePath(opts.baseDir ?? process.cwd(), e);
  };

  let identityFiles: string[];
  if (host.key !== undefined) {
    const key = fromInventory(host.key);
    if (!existsSync(key))
      return err(sshError('ssh.key-not-found', `key file ${key} does not exist`, where, 'fix `key:` for this host in the inventory'));
    identityFiles = [key];
  } else if (cfg.identityFiles) {
    // OpenSSH skips IdentityFile entries that do not exist; so do we.
    identityFiles = unique(cfg.identityFiles.map((f) => sshPath(f, t))).filter((f) => existsSync(f));
  } else {
    identityFiles = DEFAULT_KEYS.map((k) => join(home, '.ssh', k)).filter((f) => existsSync(f));
  }

  const agentSetting = cfg.identityAgent;
  let agent: string | undefined =
    agentSetting === undefined || agentSetting === 'SSH_AUTH_SOCK'
      ? env.SSH_AUTH_SOCK || undefined
      : agentSetting.toLowerCase() === 'none'
        ? undefined
        : agentSetting.startsWith('$')
          ? env[agentSetting.slice(1).replace(/^\{(.*)\}$/, '$1')] || undefined
          : sshPath(agentSetting, t);
  // IdentitiesOnly means "only the keys I named": the agent's other keys would count against
  // the server's MaxAuthTries and could authenticate as the wrong identity.
  if (cfg.identitiesOnly) agent = undefined;

  const noneOr = (list: string[] | undefined) => (list && list.length === 1 && list[0]!.toLowerCase() === 'none' ? [] : list);
  const knownHostsFiles = host.known_hosts !== undefined
    ? [fromInventory(host.known_hosts)]
    : (noneOr(cfg.userKnownHostsFiles)?.map((f) => sshPath(f, t)) ?? [join(home, '.ssh', 'known_hosts'), join(home, '.ssh', 'known_hosts2')]);
  const globalKnownHostsFiles = noneOr(cfg.globalKnownHostsFiles)?.map((f) => sshPath(f, t)) ?? ['/etc/ssh/ssh_known_hosts', '/etc/ssh/ssh_known_hosts2'];

  let jump: SshTarget | undefined;
  const jumpSpec = host.jump ?? (cfg.proxyJump && cfg.proxyJump.toLowerCase() !== 'none' ? cfg.proxyJump : undefined);
  if (typeof jumpSpec === 'object') jump = jumpSpec;
  else if (typeof jumpSpec === 'string' && jumpSpec.toLowerCase() !== 'none') {
    if (depth >= MAX_JUMP_DEPTH)
      return err(sshError('ssh.bad-config', `jump hosts nest more than ${MAX_JUMP_DEPTH} deep (a ProxyJump loop?)`, where));
    // A jump written in the inventory entry uses that entry's key and known_hosts (one lab or
    // fleet, one key); a ProxyJump from ssh_config uses what ssh_config says for the jump host.
    const inherit: Pick<InventoryHost, 'key' | 'known_hosts'> = {};
    if (host.jump !== undefined) {
      if (host.key !== undefined) inherit.key = identityFiles[0];
      if (host.known_hosts !== undefined) inherit.known_hosts = knownHostsFiles[0];
    }
    const chain = resolveJumpChain(jumpSpec, host.name, inherit, opts, depth);
    if (!chain.ok) return chain;
    jump = chain.value;
  }

  const target: SshTarget = {
    name: host.name,
    host: hostName,
    port,
    user,
    identityFiles,
    knownHostsFiles,
    globalKnownHostsFiles,
    hashKnownHosts: cfg.hashKnownHosts ?? false,
    connectTimeoutMs: cfg.connectTimeoutSeconds ? cfg.connectTimeoutSeconds * 1000 : (opts.connectTimeoutMs ?? 10_000),
    keepaliveIntervalMs: cfg.serverAliveIntervalSeconds !== undefined ? cfg.serverAliveIntervalSeconds * 1000 : (opts.keepaliveIntervalMs ?? 10_000),
    keepaliveCountMax: cfg.serverAliveCountMax ?? opts.keepaliveCountMax ?? 3,
    become: host.become ?? false,
  };
  if (agent) target.agent = agent;
  if (cfg.hostKeyAlias) target.hostKeyAlias = cfg.hostKeyAlias;
  // Only an explicit `accept-new` opts in. `no` is too often a forgotten `Host *` default to
  // count as consent, and would mean accepting changed keys, which berth never does.
  if (cfg.strictHostKeyChecking === 'accept-new') target.acceptNewHostKeys = true;
  if (jump) target.jump = jump;
  return ok(target);
}

/** `a,b,c` means: reach a, from a reach b, from b reach c; the last hop is the target's jump. */
function resolveJumpChain(
  spec: string,
  forName: string,
  inherit: Pick<InventoryHost, 'key' | 'known_hosts'>,
  opts: ResolveOptions,
  depth: number,
): Result<SshTarget, BerthError> {
  let prev: SshTarget | undefined;
  for (const hop of spec.split(',').map((s) => s.trim()).filter(Boolean)) {
    const parsed = parseJumpSpec(hop);
    if (!parsed.ok) return err({ ...parsed.error, where: forName });
    const entry: InventoryHost = { name: hop, address: parsed.value.host, ...inherit };
    if (parsed.value.user !== undefined) entry.user = parsed.value.user;
    if (parsed.value.port !== undefined) entry.port = parsed.value.port;
    // Only the first hop may bring its own ProxyJump from ssh_config, as in OpenSSH; later hops
    // are reached through the previous one.
    if (prev) entry.jump = prev;
    const r = resolveAt(entry, { ...opts, baseDir: undefined }, depth + 1);
    if (!r.ok) return r;
    prev = r.value;
  }
  if (!prev) return err(sshError('ssh.bad-config', `jump host ${JSON.stringify(spec)} names no host`, forName));
  return ok(prev);
}

/** `[user@]host[:port]`, `[user@][v6addr]:port`, or `ssh://[user@]host[:port]`. */
export function parseJumpSpec(spec: string): Result<{ user?: string; host: string; port?: number }, BerthError> {
  const bad = () =>
    err(sshError('ssh.bad-config', `jump host ${JSON.stringify(spec)} is not [user@]host[:port]`, undefined, 'write it like admin@bastion.example.com:2222'));
  let s = spec.trim().replace(/^ssh:\/\//, '');
  let user: string | undefined;
  const at = s.lastIndexOf('@');
  if (at >= 0) {
    user = s.slice(0, at);
    s = s.slice(at + 1);
    if (!user) return bad();
  }
  let host = s;
  let portText: string | undefined;
  const v6 = /^\[([^\]]+)\](?::(\d+))?$/.exec(s);
  if (v6) {
    host = v6[1]!;
    portText = v6[2];
  } else if ((s.match(/:/g) ?? []).length === 1) {
    [host, portText] = s.split(':') as [string, string];
  }
  if (!host || /[\s/]/.test(host)) return bad();
  const out: { user?: string; host: string; port?: number } = { host };
  if (user !== undefined) out.user = user;
  if (portText !== undefined) {
    const port = Number(portText);
    if (!/^\d+$/.test(portText) || port < 1 || port > 65535) return bad();
    out.port = port;
  }
  return ok(out);
}

function safeUserName(env: NodeJS.ProcessEnv): string {
  try {
    return userInfo().username;
  } catch {
    return env.USER || env.LOGNAME || 'root';
  }
}

const unique = <T>(xs: T[]): T[] => [...new Set(xs)];
