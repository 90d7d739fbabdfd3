// No-op `berth apply` on 1 and 3 lab hosts against the floor (`ssh HOST true` to every host in
// parallel): median of RUNS runs each, and where berth's time goes. Prints figures; never fails
// on time. Run: node --import tsx bench/noop-apply.ts [runs]
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { labDown, labUp } from '../providers/lab/lab.js';

const run = promisify(execFile);
const root = new URL('..', import.meta.url).pathname;
const RUNS = Number(process.argv[2] ?? 5);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const stateRoot = mkdtempSync(join(tmpdir(), 'berth-bench-'));
const name = `bench-${process.pid}`;
const up = await labUp({ name, hosts: 3, stateRoot });
if (!up.ok) throw new Error(up.error.message);
const lab = up.value.state;

function inventory(n: number): string {
  const path = join(stateRoot, `inv-${n}.yml`);
  const hosts = lab.hosts.slice(0, n).map((h) => `  ${h.name}: { address: 127.0.0.1, port: ${h.port} }`).join('\n');
  writeFileSync(path, `ssh: { user: root, key: ${lab.keyPath}, known_hosts: ${lab.knownHostsPath} }\nhosts:\n${hosts}\n`);
  return path;
}

const empty = join(stateRoot, 'empty.yml');
writeFileSync(empty, 'name: empty\nplays:\n  - hosts: all\n    tasks: []\n');
const twenty = join(stateRoot, 'twenty.yml');
writeFileSync(
  twenty,
  'name: twenty\nplays:\n  - hosts: all\n    tasks:\n' +
    Array.from({ length: 20 }, (_, i) => `      - command: { argv: [touch, /tmp/bench-${i}], creates: /etc/hostname }\n`).join(''),
);

interface Sample {
  wall: number;
  connect: number;
  agent: number;
}

function apply(playbook: string, inv: string): Promise<Sample> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(process.execPath, [join(root, 'bin/berth.js'), 'apply', playbook, '-i', inv, '--json'], { cwd: root });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.on('close', (code) => {
      const wall = performance.now() - t0;
      if (code !== 0) return reject(new Error(`berth exited ${code}: ${out.slice(-500)}`));
      const ready = out.split('\n').filter((l) => l.includes('"host-ready"')).map((l) => JSON.parse(l) as { connectMs: number; agentMs: number });
      resolve({ wall, connect: Math.max(...ready.map((r) => r.connectMs)), agent: Math.max(...ready.map((r) => r.agentMs)) });
    });
  });
}

async function floor(n: number): Promise<number> {
  const t0 = performance.now();
  await Promise.all(
    lab.hosts.slice(0, n).map((h) =>
      run('ssh', ['-o', 'BatchMode=yes', '-o', `UserKnownHostsFile=${lab.knownHostsPath}`, '-i', lab.keyPath, '-p', String(h.port), 'root@127.0.0.1', 'true']),
    ),
  );
  return performance.now() - t0;
}

async function startup(): Promise<number> {
  const t0 = performance.now();
  await run(process.execPath, [join(root, 'bin/berth.js'), 'version']);
  return performance.now() - t0;
}

try {
  // Warm up: push the agent and runtime once, so every measured run is a true no-op.
  await apply(empty, inventory(3));
  const rows: string[][] = [];
  const starts: number[] = [];
  for (let i = 0; i < RUNS; i++) starts.push(await startup());
  for (const n of [1, 3]) {
    const inv = inventory(n);
    const floors: number[] = [];
    for (let i = 0; i < RUNS; i++) floors.push(await floor(n));
    for (const [label, pb] of [['empty plan', empty], ['20 commands', twenty]] as const) {
      const samples: Sample[] = [];
      for (let i = 0; i < RUNS; i++) samples.push(await apply(pb, inv));
      const wall = median(samples.map((s) => s.wall));
      const f = median(floors);
      rows.push([String(n), label, ms(wall), ms(f), (wall / f).toFixed(2) + 'x', ms(median(samples.map((s) => s.connect))), ms(median(samples.map((s) => s.agent)))]);
    }
  }
  const head = ['hosts', 'plan', 'berth apply', 'ssh true (floor)', 'ratio', 'connect', 'agent start'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (r: string[]) => r.map((c, i) => c.padEnd(widths[i])).join('  ');
  console.log(`no-op berth apply, median of ${RUNS} runs (${new Date().toISOString()})`);
  console.log(`controller start-up (berth version): ${ms(median(starts))}`);
  console.log(line(head));
  for (const r of rows) console.log(line(r));
} finally {
  await labDown({ name, stateRoot });
  rmSync(stateRoot, { recursive: true, force: true });
}

function ms(n: number): string {
  return `${Math.round(n)} ms`;
}
