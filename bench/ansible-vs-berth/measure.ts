// Runs one controller command and measures it: wall time; CPU time and the largest process's
// peak RSS from GNU time (wait4's rusage, exact); and the peak of the summed PSS of every
// controller-side process (Ansible forks a worker per host, and ControlPersist masters detach
// from the tree: both count), sampled from /proc. PSS rather than RSS so pages shared by
// forked workers are not counted many times over.
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';

export interface Measured {
  code: number | null;
  wallMs: number;
  cpuS: number;
  /** CPU time of everything on the hosts (sshd, shells, agents, Python) during the run. */
  hostCpuS: number;
  /** Peak RSS of the largest single controller process, MB. */
  maxRssMb: number;
  /** Peak of the summed PSS of all controller processes, MB (sampled every SAMPLE_MS). */
  treePssMb: number;
  stdout: string;
  stderr: string;
  /** Whether a host-side process matched RunSpec.hostPattern (proves Mitogen was in use). */
  hostSeen: boolean;
}

const SAMPLE_MS = 200;

export interface RunSpec {
  argv: string[];
  cwd: string;
  env?: NodeJS.ProcessEnv;
  /** Processes outside the tree that belong to this run: their cmdline contains this. */
  marker?: string;
  /** Look for a process of this uid whose command line contains hostPattern. */
  hostUid?: number;
  hostPattern?: string;
  /** A folder for GNU time's report (the benchmark's work folder). */
  scratch: string;
  /** The fleet's cpuacct cgroup (bench/fleet/up.sh), for the hosts' CPU time. */
  cpuacct?: string;
  timeoutMs: number;
}

/** The run in progress, so that an interrupted benchmark can stop it (by its pid). */
let current: { kill(): void } | undefined;
export const stopCurrent = (): void => current?.kill();

export function measure(spec: RunSpec): Promise<Measured> {
  const timeFile = join(spec.scratch, `time-${Date.now()}`);
  const hostCpu0 = cpuacctNs(spec.cpuacct);
  return new Promise((resolve) => {
    const t0 = performance.now();
    const child = spawn('/usr/bin/time', ['-f', '%M %U %S', '-o', timeFile, ...spec.argv], {
      cwd: spec.cwd,
      env: { ...process.env, ...spec.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    // GNU time forwards SIGTERM to nothing: stop the tool itself (time's only child).
    current = { kill: () => stopChildrenOf(child.pid!) };
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    let hostSeen = false;
    let peak = 0;
    const sample = () => {
      const s = sampleTree(child.pid!, spec);
      peak = Math.max(peak, s.pss);
      hostSeen ||= s.hostSeen;
    };
    const timer = setInterval(sample, SAMPLE_MS);
    // A hung run must not hang the benchmark: it is stopped (by its own pid) and reported.
    const killer = setTimeout(() => stopChildrenOf(child.pid!), spec.timeoutMs);
    child.on('close', (code) => {
      current = undefined;
      const wallMs = performance.now() - t0;
      clearInterval(timer);
      clearTimeout(killer);
      let maxRssMb = 0;
      let cpuS = 0;
      try {
        const [rss, user, sys] = readFileSync(timeFile, 'utf8').trim().split('\n').pop()!.split(' ').map(Number);
        maxRssMb = rss / 1024;
        cpuS = user + sys;
      } catch {
        // time writes nothing when it was killed; the row says so through its exit code.
      }
      rmSync(timeFile, { force: true });
      const hostCpuS = (cpuacctNs(spec.cpuacct) - hostCpu0) / 1e9;
      resolve({ code, wallMs, cpuS, hostCpuS, maxRssMb, treePssMb: peak / 1024, stdout, stderr, hostSeen });
    });
  });
}

const cpuacctNs = (dir: string | undefined): number => {
  try {
    return dir ? Number(readFileSync(`${dir}/cpuacct.usage`, 'utf8')) : NaN;
  } catch {
    return NaN;
  }
};

interface Proc {
  pid: number;
  ppid: number;
  uid: number;
}

function processes(): Proc[] {
  const out: Proc[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const status = readFileSync(`/proc/${name}/status`, 'utf8');
      const ppid = Number(/^PPid:\s+(\d+)/m.exec(status)?.[1]);
      const uid = Number(/^Uid:\s+(\d+)/m.exec(status)?.[1]);
      out.push({ pid: Number(name), ppid, uid });
    } catch {
      // gone between readdir and read
    }
  }
  return out;
}

const cmdline = (pid: number): string => {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ').trim();
  } catch {
    return '';
  }
};

/** Summed PSS (kB) of the tree under root plus marked processes; whether the host pattern ran. */
function sampleTree(root: number, spec: RunSpec): { pss: number; hostSeen: boolean } {
  const all = processes();
  const children = new Map<number, number[]>();
  for (const p of all) children.set(p.ppid, [...(children.get(p.ppid) ?? []), p.pid]);
  const mine = new Set<number>();
  // GNU time itself is not the controller: start from its children.
  const stack = [...(children.get(root) ?? [])];
  while (stack.length) {
    const pid = stack.pop()!;
    if (mine.has(pid)) continue;
    mine.add(pid);
    stack.push(...(children.get(pid) ?? []));
  }
  let hostSeen = false;
  for (const p of all) {
    if (mine.has(p.pid)) continue;
    if (spec.hostPattern && !hostSeen && p.uid === spec.hostUid) hostSeen = cmdline(p.pid).includes(spec.hostPattern);
    else if (spec.marker && p.uid === 0 && cmdline(p.pid).includes(spec.marker)) mine.add(p.pid);
  }
  let pss = 0;
  for (const pid of mine) {
    try {
      pss += Number(/^Pss:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'))?.[1] ?? 0);
    } catch {
      // exited meanwhile
    }
  }
  return { pss, hostSeen };
}

/** Processes of this run left behind (ControlPersist masters): stopped by pid, nothing else. */
export function stopLeftovers(marker: string): number {
  let n = 0;
  for (const p of processes()) {
    if (p.uid === 0 && p.pid !== process.pid && cmdline(p.pid).includes(marker)) {
      try {
        process.kill(p.pid, 'SIGTERM');
        n += 1;
      } catch {
        // already gone
      }
    }
  }
  return n;
}

function stopChildrenOf(pid: number): void {
  for (const p of processes()) {
    if (p.ppid !== pid) continue;
    try {
      process.kill(p.pid, 'SIGTERM');
    } catch {
      // already gone
    }
  }
}
