// The demo stack (playbooks/demo.yml: runtime, images, registry + ambassador, web x2 with a
// sidecar, a store with a named volume, a backup job) on 3 fresh lab hosts: the cold deploy, the
// no-op apply (median of RUNS) and a rolling upgrade (app_version changed: serial 1,
// start-first), each with wall time and the controller's peak memory (VmHWM of the berth
// process, sampled from /proc). Prints figures; never fails on time.
// Run: node --import tsx bench/services.ts [runs]
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { labDown, labUp } from '../providers/lab/lab.js';

const root = new URL('..', import.meta.url).pathname;
const RUNS = Number(process.argv[2] ?? 5);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

interface Measured {
  code: number;
  ms: number;
  peakMb: number;
}

/** `berth ARGS` as a child; its wall time and the highest VmHWM seen while it ran. */
function berth(args: string[]): Promise<Measured> {
  return new Promise((resolve) => {
    const t0 = performance.now();
    const child = spawn(process.execPath, [join(root, 'bin/berth.js'), ...args], { cwd: root, env: { ...process.env, CI: 'true' }, stdio: ['ignore', 'ignore', 'inherit'] });
    let peakKb = 0;
    const sample = () => {
      try {
        const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'));
        if (m) peakKb = Math.max(peakKb, Number(m[1]));
      } catch {
        // Exited between samples: the last sample stands.
      }
    };
    const timer = setInterval(sample, 50);
    child.on('close', (code) => {
      clearInterval(timer);
      resolve({ code: code ?? 1, ms: performance.now() - t0, peakMb: Math.round(peakKb / 1024) });
    });
  });
}

const stateRoot = mkdtempSync(join(tmpdir(), 'berth-bench-services-'));
const name = `bench-svc-${process.pid}`;
const up = await labUp({ name, hosts: 3, stateRoot });
if (!up.ok) throw new Error(up.error.message);
const inv = up.value.state.inventoryPath;
const pb = join(root, 'playbooks/demo.yml');
const rows: string[] = [];
const row = (what: string, m: Measured, note = '') => rows.push(`| ${what} | ${(m.ms / 1000).toFixed(1)} s | ${m.peakMb} MB | ${m.code} | ${note} |`);
try {
  const cold = await berth(['apply', pb, '-i', inv, '--plain']);
  row('cold deploy (runtime, images, registry, ambassador, stack)', cold);
  const noops: Measured[] = [];
  for (let i = 0; i < RUNS; i++) noops.push(await berth(['apply', pb, '-i', inv, '--plain']));
  const mid = noops.find((x) => x.ms === median(noops.map((n) => n.ms)))!;
  row(`no-op apply (median of ${RUNS})`, mid, `runs: ${noops.map((n) => (n.ms / 1000).toFixed(1)).join(', ')} s`);
  const upgrade = await berth(['apply', pb, '-i', inv, '--plain', '-e', 'app_version=9.9.9']);
  row('rolling upgrade (web, serial 1, start-first, 2 replicas/host)', upgrade);
} finally {
  await labDown({ name, stateRoot });
  rmSync(stateRoot, { recursive: true, force: true });
}
console.log('\n| step | wall | controller peak RSS | exit | runs |\n|---|---|---|---|---|');
for (const r of rows) console.log(r);
