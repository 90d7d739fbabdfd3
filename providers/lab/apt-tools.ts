// The controller-side tools the lab and the tests need (mmdebstrap, zstd, the Docker engine, etcd,
// the registry, haproxy, ...). A tool counts as present only when it runs: a name on PATH proves
// nothing (a fresh machine of this kind ships a static `docker` client with no engine, no
// containerd and no runc). On a Debian controller running as root berth installs what does not
// run; elsewhere it says what to install.
import { existsSync } from 'node:fs';
import { err, ExitCode, ok, type Result } from '../../controller/errors.js';
import { lastLine, run } from './run.js';

export interface Tool {
  /** A command that exits 0 only when the tool works (run with the caller's PATH). */
  probe: readonly string[];
  /** The Debian package that ships it. */
  pkg: string;
}

/** tool name -> how to see that it works, and the package that brings it */
export const TOOLS: Record<string, Tool> = {
  mmdebstrap: { probe: ['mmdebstrap', '--version'], pkg: 'mmdebstrap' },
  zstd: { probe: ['zstd', '--version'], pkg: 'zstd' },
  'dpkg-scanpackages': { probe: ['dpkg-scanpackages', '--version'], pkg: 'dpkg-dev' },
  // ssh-keygen has no version flag; ssh -V comes from the same package.
  'ssh-keygen': { probe: ['ssh', '-V'], pkg: 'openssh-client' },
  tar: { probe: ['tar', '--version'], pkg: 'tar' },
  // The engine is three programs; the `docker` client alone is not one.
  dockerd: { probe: ['dockerd', '--version'], pkg: 'docker.io' },
  containerd: { probe: ['containerd', '--version'], pkg: 'containerd' },
  runc: { probe: ['runc', '--version'], pkg: 'runc' },
  docker: { probe: ['docker', '--version'], pkg: 'docker.io' },
  etcd: { probe: ['etcd', '--version'], pkg: 'etcd-server' },
  etcdctl: { probe: ['etcdctl', 'version'], pkg: 'etcd-client' },
  'docker-registry': { probe: ['docker-registry', '--version'], pkg: 'docker-registry' },
  // Makes the registry's bcrypt password file (it has no version flag; hashing a word proves it runs).
  htpasswd: { probe: ['htpasswd', '-nbB', 'probe', 'probe'], pkg: 'apache2-utils' },
  haproxy: { probe: ['haproxy', '-v'], pkg: 'haproxy' },
  tmux: { probe: ['tmux', '-V'], pkg: 'tmux' },
  vagrant: { probe: ['vagrant', '--version'], pkg: 'vagrant' },
  // A library, not a program: present when the file is there (the faults test preloads it).
  libfaketime: { probe: ['test', '-r', '/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1'], pkg: 'libfaketime' },
};

/** What Docker Engine needs on this machine, besides an answering socket. */
export const ENGINE_TOOLS = ['dockerd', 'containerd', 'runc'];

const APT = ['apt-get', '-o', 'DPkg::Lock::Timeout=600'];

export const canInstall = (): boolean => process.getuid?.() === 0 && existsSync('/etc/debian_version') && existsSync('/usr/bin/apt-get');

/** PATH with the sbin folders root usually has, where dockerd and friends live. */
export function toolPath(path = process.env.PATH ?? ''): string {
  const dirs = path.split(':').filter(Boolean);
  for (const d of ['/usr/local/sbin', '/usr/sbin', '/sbin']) if (!dirs.includes(d)) dirs.push(d);
  return dirs.join(':');
}

/** The tools among `names` that do not run with this PATH. */
export async function missingTools(names: readonly string[], path = toolPath()): Promise<string[]> {
  const missing: string[] = [];
  for (const n of names) {
    const t = TOOLS[n];
    if (!t) throw new Error(`unknown tool ${n}`); // a bug in the caller, not bad input
    const r = await run(t.probe, { env: { ...process.env, PATH: path }, timeoutMs: 30_000 });
    if (r.code !== 0) missing.push(n);
  }
  return missing;
}

/** The Debian packages that bring these tools, each once. */
export const packagesFor = (names: readonly string[]): string[] => [...new Set(names.map((n) => TOOLS[n]!.pkg))];

let updated = false;

/** Installs the Debian packages behind tools that do not run; `log` tells the operator why it is slow. */
export async function ensureTools(names: readonly string[], log: (s: string) => void): Promise<Result<void>> {
  const missing = await missingTools(names);
  if (missing.length === 0) return ok(undefined);
  const r = await installPackages(packagesFor(missing), log, `${missing.join(', ')} ${missing.length > 1 ? 'do' : 'does'} not run here`);
  if (!r.ok) return r;
  const still = await missingTools(missing);
  if (still.length) {
    return err({ code: 'lab.tools-broken', message: `${still.join(', ')} still ${still.length > 1 ? 'do' : 'does'} not run after installing ${packagesFor(still).join(' ')}`, hint: `run ${TOOLS[still[0]!]!.probe.join(' ')} to see why`, exit: ExitCode.failed });
  }
  return ok(undefined);
}

/** apt-get install, after one apt-get update per process (a fresh machine's lists may be empty). */
export async function installPackages(pkgs: readonly string[], log: (s: string) => void, why: string): Promise<Result<void>> {
  if (!canInstall()) {
    return err({
      code: 'lab.tools-missing',
      message: `the lab needs the Debian package${pkgs.length > 1 ? 's' : ''} ${pkgs.join(' ')}: ${why}`,
      hint: `install ${pkgs.join(' ')} (berth installs them itself when it runs as root on Debian)`,
      exit: ExitCode.badInput,
    });
  }
  log(`installing ${pkgs.join(' ')} with apt (${why})`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  if (!updated) {
    const u = await run([...APT, 'update'], { env });
    if (u.code !== 0) return err({ code: 'lab.apt-failed', message: `apt-get update failed: ${lastLine(u)}`, exit: ExitCode.failed });
    updated = true;
  }
  const r = await run([...APT, 'install', '-y', '--no-install-recommends', ...pkgs], { env });
  if (r.code !== 0) {
    return err({ code: 'lab.apt-failed', message: `apt-get install ${pkgs.join(' ')} failed: ${lastLine(r)}`, exit: ExitCode.failed });
  }
  return ok(undefined);
}
