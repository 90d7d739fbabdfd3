// The benchmark's view of bench/fleet: bring it up, write each tool's inventory for the first
// N hosts, reset hosts to "never seen" for a cold run, and fingerprint what a run left on a
// host so the tools can be checked to have done the same work.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, lstatSync, openSync, readdirSync, readFileSync, readlinkSync, readSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const fleetDir = new URL('../fleet/', import.meta.url).pathname;

export interface FleetHost {
  name: string;
  address: string;
  root: string;
  home: string;
}

export interface Fleet {
  n: number;
  /** cpuacct cgroup holding every sshd of the fleet ('' when cgroups are not available). */
  cpuacct: string;
  port: number;
  user: string;
  dir: string;
  key: string;
  knownHosts: string;
  hosts: FleetHost[];
}

/** Starts (or tops up) the fleet to n hosts; up.sh installs what it needs on first use. */
export function fleetUp(n: number): Fleet {
  execFileSync('bash', [join(fleetDir, 'up.sh'), String(n)], { stdio: ['ignore', 'inherit', 'inherit'] });
  const dir = process.env.BERTH_FLEET_DIR ?? '/tmp/berth-fleet';
  return JSON.parse(readFileSync(join(dir, 'fleet.json'), 'utf8')) as Fleet;
}

export function fleetDown(): void {
  execFileSync('bash', [join(fleetDir, 'down.sh')], { stdio: ['ignore', 'inherit', 'inherit'] });
}

/** berth's inventory for the first n hosts: each host's `root` var is its workload folder. */
export function berthInventory(f: Fleet, n: number, path: string): string {
  const hosts = f.hosts.slice(0, n).map((h) => `  ${h.name}: { address: ${h.address}, port: ${f.port}, vars: { root: ${h.root} } }`);
  writeFileSync(path, [`ssh: { user: ${f.user}, key: ${f.key}, known_hosts: ${f.knownHosts} }`, 'hosts:', ...hosts, ''].join('\n'));
  return path;
}

export function ansibleInventory(f: Fleet, n: number, path: string): string {
  const hosts = f.hosts.slice(0, n).map((h) => `${h.name} ansible_host=${h.address} ansible_port=${f.port} root=${h.root}`);
  writeFileSync(path, ['[fleet]', ...hosts, '[fleet:vars]', `ansible_user=${f.user}`, `ansible_ssh_private_key_file=${f.key}`, ''].join('\n'));
  return path;
}

/**
 * A cold run meets hosts as on first contact: an empty workload root and no cache of either
 * tool in the host's HOME (berth's agent is pushed again, Ansible's temp dirs are gone).
 */
export function resetHosts(f: Fleet, n: number): void {
  for (const h of f.hosts.slice(0, n)) {
    for (const entry of readdirSync(h.root)) rmSync(join(h.root, entry), { recursive: true, force: true });
    for (const cache of ['.berth', '.ansible']) rmSync(join(h.home, cache), { recursive: true, force: true });
  }
}

/** Kind, mode, and content (or link target) of everything under a host's root, as one hash. */
export function fingerprint(h: FleetHost): string {
  const hash = createHash('sha256');
  const walk = (dir: string) => {
    for (const name of readdirSync(dir).sort()) {
      const p = join(dir, name);
      const st = lstatSync(p);
      const rel = p.slice(h.root.length);
      hash.update(`${rel} ${(st.mode & 0o170000).toString(8)} ${(st.mode & 0o7777).toString(8)}\n`);
      if (st.isSymbolicLink()) hash.update(readlinkSync(p));
      else if (st.isFile()) hash.update(readFileSync(p));
      else if (st.isDirectory()) walk(p);
    }
  };
  walk(h.root);
  return hash.digest('hex').slice(0, 16);
}

/** Where a host's sshd log ends now: read what a run adds with sshdActivity. */
export const sshdLogSize = (f: Fleet, h: FleetHost): number => {
  try {
    return statSync(join(f.dir, h.name, 'sshd.log')).size;
  } catch {
    return 0;
  }
};

/**
 * SSH work a run cost one host, from its sshd log (LogLevel VERBOSE): logins (one per SSH
 * connection) and sessions (one per command run: an exec channel). Every round trip a tool
 * makes per task shows up here as a session.
 */
export function sshdActivity(f: Fleet, h: FleetHost, from: number): { logins: number; sessions: number } {
  const path = join(f.dir, h.name, 'sshd.log');
  const size = sshdLogSize(f, h);
  if (size <= from) return { logins: 0, sessions: 0 };
  const buf = Buffer.alloc(size - from);
  const fd = openSync(path, 'r');
  try {
    readSync(fd, buf, 0, buf.length, from);
  } finally {
    closeSync(fd);
  }
  const text = buf.toString('utf8');
  return { logins: text.match(/Accepted publickey for /g)?.length ?? 0, sessions: text.match(/Starting session: /g)?.length ?? 0 };
}
