// Host keys of Vagrant machines, learned on first contact and pinned per machine.
//
// Vagrant turns host key checking off (`StrictHostKeyChecking no`, known_hosts /dev/null): every
// `vagrant up` makes new keys and often reuses 127.0.0.1:2222, so ~/.ssh/known_hosts would only
// collect stale entries. berth still verifies: it learns a machine's keys once (ssh-keyscan),
// records them with the id Vagrant gave the machine, and from then on ssh2 checks them strictly.
// A machine destroyed and created again has a new id, so its new keys are learned; the same
// machine presenting another key is refused. This is `accept-new`, for Vagrant machines only,
// keyed by machine instead of by address:port.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { err, ExitCode, ok, type BerthError, type Result } from '../../controller/errors.js';
import { knownHostsName } from '../../controller/ssh/known-hosts.js';

export const STORE = 'host-keys.json';
export const KNOWN_HOSTS = 'known_hosts';

export interface PinnedMachine {
  /** Vagrant's id for the machine when its keys were learned ('' when Vagrant kept none). */
  id: string;
  /** `type base64` lines. */
  keys: string[];
  learnedAt: string;
}

interface Store {
  version: 1;
  machines: Record<string, PinnedMachine>;
}

export interface MachineEndpoint {
  name: string;
  id: string;
  address: string;
  port: number;
}

/** Returns the host's public keys as `type base64`, or none when it does not answer. */
export type KeyScanner = (address: string, port: number) => Result<string[], BerthError>;

export const sshKeyscan: KeyScanner = (address, port) => {
  const r = spawnSync('ssh-keyscan', ['-T', '5', '-p', String(port), '-t', 'ed25519,ecdsa,rsa', address], { encoding: 'utf8', timeout: 30_000 });
  if (r.error) {
    const missing = (r.error as NodeJS.ErrnoException).code === 'ENOENT';
    return err({
      code: 'inventory.vagrant-keyscan',
      message: missing ? 'ssh-keyscan is not installed; berth needs it to learn the host keys of Vagrant machines' : `ssh-keyscan failed: ${r.error.message}`,
      hint: missing ? 'install OpenSSH\'s client tools (Debian: openssh-client)' : undefined,
      exit: ExitCode.failed,
    });
  }
  const keys = r.stdout.split('\n').filter((l) => l && !l.startsWith('#')).map((l) => l.trim().split(/\s+/).slice(1, 3).join(' ')).filter((k) => /^\S+ \S+$/.test(k));
  return ok([...new Set(keys)].sort());
};

function readStore(path: string): Result<Store, BerthError> {
  if (!existsSync(path)) return ok({ version: 1, machines: {} });
  try {
    const s = JSON.parse(readFileSync(path, 'utf8')) as Store;
    if (s.version !== 1 || typeof s.machines !== 'object' || s.machines === null) throw new Error('unknown version');
    return ok(s);
  } catch (e) {
    // Starting over silently would accept any key for every machine: make it the operator's call.
    return err({ code: 'inventory.vagrant-host-keys', message: `cannot read the pinned host keys in ${path}: ${(e as Error).message}`, where: path, hint: 'delete the file to learn every machine\'s keys again', exit: ExitCode.failed });
  }
}

function put(path: string, text: string): void {
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, text, { mode: 0o644 });
  renameSync(tmp, path);
}

export interface PinResult {
  knownHostsPath: string;
  /** Machines whose keys this call learned. */
  learned: string[];
}

/**
 * Learns keys for machines that are new or were recreated, forgets machines Vagrant no longer
 * has, and writes known_hosts for the machines' current addresses (a reload may move a port).
 */
export function pinHostKeys(dir: string, machines: MachineEndpoint[], existing: ReadonlySet<string>, scan: KeyScanner = sshKeyscan): Result<PinResult, BerthError> {
  const storePath = join(dir, STORE);
  const knownHostsPath = join(dir, KNOWN_HOSTS);
  const read = readStore(storePath);
  if (!read.ok) return read;
  const store = read.value;
  const before = JSON.stringify(store);
  const learned: string[] = [];
  for (const m of machines) {
    const pinned = store.machines[m.name];
    if (pinned && pinned.id === m.id && pinned.keys.length) continue;
    const keys = scan(m.address, m.port);
    if (!keys.ok) return keys;
    if (keys.value.length === 0) {
      // Not answering yet: no key is pinned, so the connection fails verification instead of trusting a later answer blindly.
      delete store.machines[m.name];
      continue;
    }
    store.machines[m.name] = { id: m.id, keys: keys.value, learnedAt: new Date().toISOString() };
    learned.push(m.name);
  }
  const listed = new Set(machines.map((m) => m.name));
  for (const name of Object.keys(store.machines)) if (!listed.has(name) && !existing.has(name)) delete store.machines[name];

  const lines = [`# Host keys of this Vagrant environment's machines, pinned by berth (${STORE}); rewritten on every run.`];
  for (const m of machines) for (const k of store.machines[m.name]?.keys ?? []) lines.push(`${knownHostsName(m.address, m.port)} ${k}`);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  if (JSON.stringify(store) !== before || !existsSync(storePath)) put(storePath, JSON.stringify(store, null, 2) + '\n');
  const text = lines.join('\n') + '\n';
  if (!existsSync(knownHostsPath) || readFileSync(knownHostsPath, 'utf8') !== text) put(knownHostsPath, text);
  return ok({ knownHostsPath, learned });
}
