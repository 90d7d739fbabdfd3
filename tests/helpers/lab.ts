// A lab for test files: the same code as `berth lab up`, with the lab's state (key, known_hosts,
// inventory) in a temp dir so tests never touch an operator's labs. The real lab name gets the
// test process's pid appended, so two runs of the same file (or two engineers) never collide.
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { formatError, type Result } from '../../controller/errors.js';
import type { LabNode } from '../../providers/lab/host-node.js';
import { labDown, labUp, listLabs } from '../../providers/lab/lab.js';
import type { HostInit } from '../../providers/lab/recipe.js';

export interface LabHost { name: string; address: string; port: number; ip: string; container: string }
export interface TestLab { name: string; dir: string; inventoryPath: string; keyPath: string; knownHostsPath: string; hosts: LabHost[]; down(): Promise<void> }

const TEMP_PREFIX = 'berth-test-lab-';
const OWNER = 'owner.pid';
const log = (line: string): void => void process.stderr.write(`  [lab] ${line}\n`);

function must<T>(r: Result<T>): T {
  if (!r.ok) throw new Error(`lab: ${formatError(r.error)}`);
  return r.value;
}

/**
 * A lab's test process is gone when its state dir is, or when the pid it recorded no longer runs
 * node (pids wrap quickly on a busy machine, hence the cmdline check).
 */
function ownerGone(stateRoot: string): boolean {
  if (!existsSync(stateRoot)) return true;
  let pid: number;
  try {
    pid = Number(readFileSync(join(stateRoot, OWNER), 'utf8'));
  } catch {
    return false; // no pid recorded: cannot tell, leave it
  }
  try {
    return !readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('node');
  } catch {
    return true;
  }
}

/** Removes labs left by test runs that died before down(): their owner is gone. */
async function sweepOrphans(): Promise<void> {
  const labs = must(await listLabs());
  for (const [name, dirs] of labs) {
    const roots = [...dirs].map((d) => dirname(dirname(d)));
    if (roots.every((r) => r.startsWith(join(tmpdir(), TEMP_PREFIX)) && ownerGone(r))) {
      log(`removing lab ${name}, left behind by an earlier test run`);
      must(await labDown({ name, stateRoot: roots[0] }));
      for (const r of roots) await rm(r, { recursive: true, force: true });
    }
  }
}

// The test runner ends a file that runs too long with SIGTERM, and uvu's after() hooks do not
// run then: take the file's labs down before exiting.
const live = new Set<() => Promise<void>>();
let watching = false;
function watchSignals(): void {
  if (watching) return;
  watching = true;
  const onSignal = (sig: NodeJS.Signals) => {
    void Promise.allSettled([...live].map((d) => d())).finally(() => process.exit(sig === 'SIGINT' ? 130 : 143));
  };
  process.once('SIGINT', onSignal).once('SIGTERM', onSignal);
}

/** `node`: hosts that start with Debian's nodejs (Node 18), so the agent runs on it there. */
/** `init`: what the hosts run as PID 1, tini (default) or systemd (booted like a Debian server). */
export async function startLab(opts: { name: string; hosts: number; node?: LabNode; init?: HostInit }): Promise<TestLab> {
  await sweepOrphans();
  const base = opts.name.toLowerCase().replace(/[^a-z0-9-]+/g, '-').replace(/^-+/, '').slice(0, 24) || 'test';
  const name = `${base}-${process.pid}`;
  const stateRoot = await mkdtemp(join(tmpdir(), TEMP_PREFIX));
  await writeFile(join(stateRoot, OWNER), String(process.pid));
  let downed = false;
  const down = async () => {
    if (downed) return;
    downed = true;
    live.delete(down);
    must(await labDown({ name, stateRoot }));
    await rm(stateRoot, { recursive: true, force: true });
  };
  live.add(down);
  watchSignals();
  let up;
  try {
    up = must(await labUp({ name, hosts: opts.hosts, node: opts.node, init: opts.init, stateRoot, log }));
  } catch (e) {
    await down().catch(() => {});
    throw e;
  }
  const s = up.state;
  return {
    name,
    dir: s.dir,
    inventoryPath: s.inventoryPath,
    keyPath: s.keyPath,
    knownHostsPath: s.knownHostsPath,
    hosts: s.hosts.map((h) => ({ name: h.name, address: h.address, port: h.port, ip: h.ip, container: h.container })),
    down,
  };
}

/**
 * OpenSSH's argv for a command on a lab host: the lab's key and known_hosts, host keys checked,
 * never a prompt. Tests check hosts through real OpenSSH, independently of berth's own SSH.
 */
export function sshArgs(lab: Pick<TestLab, 'knownHostsPath' | 'keyPath'>, host: Pick<LabHost, 'port' | 'address'>, cmd: string, user = 'root'): string[] {
  return ['-o', 'BatchMode=yes', '-o', `UserKnownHostsFile=${lab.knownHostsPath}`, '-o', 'StrictHostKeyChecking=yes', '-o', 'GlobalKnownHostsFile=/dev/null', '-i', lab.keyPath, '-p', String(host.port), `${user}@${host.address}`, cmd];
}

export interface HostResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** A command on a lab host; its exit code and trimmed output, whether it succeeded or not. */
export function sshLab(lab: Pick<TestLab, 'knownHostsPath' | 'keyPath'>, host: Pick<LabHost, 'port' | 'address'>, cmd: string, opts: { user?: string; timeoutMs?: number } = {}): Promise<HostResult> {
  return new Promise((resolve) => {
    execFile('ssh', sshArgs(lab, host, cmd, opts.user), { maxBuffer: 64 * 1024 * 1024, timeout: opts.timeoutMs ?? 120_000, encoding: 'utf8' }, (e: Error | null, stdout: string, stderr: string) => {
      const status = (e as { code?: unknown } | null)?.code;
      const code = e ? (typeof status === 'number' ? status : 1) : 0;
      resolve({ code, stdout: stdout.trim(), stderr });
    });
  });
}

/** The same, synchronous, for assertions: the trimmed output; throws when the command fails. */
export function sshLabSync(lab: Pick<TestLab, 'knownHostsPath' | 'keyPath'>, host: Pick<LabHost, 'port' | 'address'>, cmd: string, user = 'root'): string {
  return execFileSync('ssh', sshArgs(lab, host, cmd, user), { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 }).trim();
}
