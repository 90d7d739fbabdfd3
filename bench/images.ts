// Image distribution to 3 lab hosts, berth (hosts relaying to each other, and with --no-relay)
// against `docker save IMAGE | ssh HOST docker load`: bytes the controller writes to the SSH
// channels and wall time, for an image of about 100 MB
// (FROM scratch: busybox + a 100 MB random file), then for its next version (one more 1 MB
// layer on top), and the time of a build whose context did not change. Median of RUNS runs.
// Prints figures; never fails on time. Run: node --import tsx bench/images.ts [runs]
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { inventorySource } from '../controller/inventory/source.js';
import { resolveInventory } from '../controller/inventory/resolve.js';
import { applyPlaybook } from '../controller/run/apply.js';
import type { RunEvent } from '../controller/run/events.js';
import { loadForRun, loadInventoryForRun } from '../controller/run/load-for-run.js';
import { createSshPool, resolveTarget } from '../controller/ssh/index.js';
import type { HostTransport } from '../controller/transport.js';
import { labDown, labUp } from '../providers/lab/lab.js';
import { throttledUplink } from './lib/uplink.js';

const RUNS = Number(process.argv[2] ?? 3);
/** Bandwidth of the controller's uplink in the throttled case. */
const UPLINK_MBIT = Number(process.env.BENCH_UPLINK_MBIT ?? 200);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const mb = (n: number) => `${(n / 1e6).toFixed(1)} MB`;
const sec = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

const stateRoot = mkdtempSync(join(tmpdir(), 'berth-bench-images-'));
const name = `bimg-${process.pid}`;
const image = `bench-big-${process.pid}`;
const controllerImages: string[] = [];

const up = await labUp({ name, hosts: 3, stateRoot });
if (!up.ok) throw new Error(up.error.message);
const lab = up.value.state;

const sshArgs = (port: number, knownHosts = lab.knownHostsPath) => ['-o', 'BatchMode=yes', '-o', `UserKnownHostsFile=${knownHosts}`, '-o', 'StrictHostKeyChecking=yes', '-i', lab.keyPath, '-p', String(port), 'root@127.0.0.1'];
const onHost = (port: number, cmd: string) => execFileSync('ssh', [...sshArgs(port), cmd], { encoding: 'utf8', maxBuffer: 1 << 26 });

/** One `berth apply` in process (exactly what the CLI runs), counting the bytes written to hosts. */
async function apply(playbook: string, relay = true, inventoryPath = lab.inventoryPath): Promise<{ code: number; wallMs: number; bytes: number; events: RunEvent[] }> {
  const loaded = loadForRun(playbook);
  if (!loaded.ok) throw new Error(loaded.error.map((e) => e.message).join('\n'));
  const inv = inventorySource(undefined, { playbookPath: loaded.value.path, playbookName: 'bench', override: inventoryPath, where: '-i', loadFile: loadInventoryForRun });
  if (!inv.ok) throw new Error(inv.error.map((e) => e.message).join('\n'));
  const inventory = resolveInventory(inv.value.doc, inv.value.source);
  const pool = createSshPool({});
  const transports: HostTransport[] = [];
  const events: RunEvent[] = [];
  const t0 = performance.now();
  try {
    const code = await applyPlaybook({
      playbookPath: loaded.value.path,
      playbook: loaded.value.doc,
      where: loaded.value.where,
      inventory,
      extraVars: {},
      check: false,
      diff: false,
      forks: 10,
      relay,
      sink: (e) => events.push(e),
      signal: new AbortController().signal,
      connect: async (host) => {
        const target = resolveTarget(host.connection);
        if (!target.ok) return target;
        const t = await pool.get(target.value);
        if (t.ok) transports.push(t.value);
        return t;
      },
    });
    return { code, wallMs: performance.now() - t0, bytes: transports.reduce((n, t) => n + t.bytesSent, 0), events };
  } finally {
    pool.closeAll();
  }
}

function must(r: { code: number; events: RunEvent[] }, what: string) {
  if (r.code !== 0) throw new Error(`${what}: berth exited ${r.code}\n${JSON.stringify(r.events.filter((e) => e.type === 'task-end' && (e as { status?: string }).status === 'failed'))}`);
}

/** Another way to the hosts: local ports standing for theirs (bench/lib/uplink.ts), and an inventory and known_hosts that say so. */
interface Via {
  ports: Map<number, number>;
  knownHosts: string;
  inventory: string;
}

/** The lab's inventory and known_hosts with each host's port replaced by its stand-in. */
function viaPorts(ports: Map<number, number>): Via {
  const dirOf = dirname(lab.inventoryPath);
  const swap = (text: string, before: (p: number) => string, after: (p: number) => string) => [...ports].reduce((t, [from, to]) => t.split(before(from)).join(after(to)), text);
  const knownHosts = join(dirOf, 'known_hosts.uplink');
  writeFileSync(knownHosts, swap(readFileSync(lab.knownHostsPath, 'utf8'), (p) => `[127.0.0.1]:${p} `, (p) => `[127.0.0.1]:${p} `));
  const inventory = join(dirOf, 'inventory.uplink.yml');
  writeFileSync(inventory, swap(readFileSync(lab.inventoryPath, 'utf8'), (p) => `port: ${p}\n`, (p) => `port: ${p}\n`).replace('known_hosts: known_hosts', 'known_hosts: known_hosts.uplink'));
  return { ports, knownHosts, inventory };
}

/** `docker save IMAGE | ssh HOST docker load` to every host in parallel; bytes piped into ssh. */
function saveLoad(ref: string, via?: Via): Promise<{ wallMs: number; bytes: number }> {
  const t0 = performance.now();
  return Promise.all(
    lab.hosts.map(
      (h) =>
        new Promise<number>((resolve, reject) => {
          const save = spawn('docker', ['save', ref], { stdio: ['ignore', 'pipe', 'inherit'] });
          const load = spawn('ssh', [...sshArgs(via?.ports.get(h.port) ?? h.port, via?.knownHosts), 'docker load -q >/dev/null'], { stdio: ['pipe', 'inherit', 'inherit'] });
          let bytes = 0;
          save.stdout.on('data', (d: Buffer) => (bytes += d.length));
          save.stdout.pipe(load.stdin);
          load.on('close', (code) => (code === 0 ? resolve(bytes) : reject(new Error(`docker load on ${h.name} exited ${code}`))));
        }),
    ),
  ).then((b) => ({ wallMs: performance.now() - t0, bytes: b.reduce((x, y) => x + y, 0) }));
}

const removeFromHosts = (refs: string[]) => lab.hosts.forEach((h) => onHost(h.port, `docker image rm -f ${refs.join(' ')} >/dev/null 2>&1; docker image prune -f >/dev/null; true`));

try {
  const dir = join(stateRoot, 'book');
  mkdirSync(dir, { recursive: true });
  const write = (file: string, text: string) => {
    writeFileSync(join(dir, file), text);
    return join(dir, file);
  };
  // Hosts get the engine; the first host's busybox-static gives the image its busybox.
  const base = write('base.yml', `name: base\nplays:\n  - hosts: all\n    tasks:\n      - runtime: { repo: "{{berth_apt_repo}}" }\n      - package: { name: busybox-static }\n`);
  must(await apply(base), 'runtime');
  const ctx = join(dir, 'big');
  mkdirSync(ctx, { recursive: true });
  writeFileSync(join(ctx, 'busybox'), execFileSync('ssh', [...sshArgs(lab.hosts[0].port), 'cat /bin/busybox'], { maxBuffer: 1 << 26 }));
  writeFileSync(join(ctx, 'big.bin'), randomBytes(100_000_000));
  writeFileSync(join(ctx, 'Dockerfile'), 'FROM scratch\nCOPY busybox /bin/busybox\nCOPY big.bin /big.bin\nCMD ["/bin/busybox", "true"]\n');
  const ship = write('ship.yml', `name: ship\nplays:\n  - hosts: all\n    tasks:\n      - image: { name: ${image}, build: { context: big }, builder: controller }\n`);

  // Built once on the controller before the clock starts: both methods ship an existing image.
  const shipOnce = await apply(ship);
  must(shipOnce, 'first ship');
  const tag = execFileSync('docker', ['images', '--format', '{{.Repository}}:{{.Tag}}', `berth/${image}`], { encoding: 'utf8' }).trim().split('\n')[0];
  controllerImages.push(tag);
  const saveSize = Number(execFileSync('sh', ['-c', `docker save ${tag} | wc -c`], { encoding: 'utf8' }).trim());

  type Run = { wallMs: number; bytes: number; hostToHost?: number };
  const rows: string[][] = [];
  // The three methods one after the other in each round, so that the machine's load (it is
  // shared) moves all of them alike; each figure is the median of its rounds.
  const measure = async (label: string, relayed: () => Promise<Run>, direct: () => Promise<Run>, plain: () => Promise<Run>, reset: () => void) => {
    const runs: Run[][] = [[], [], []];
    for (let i = 0; i < RUNS; i++) {
      for (const [k, method] of [relayed, direct, plain].entries()) {
        reset();
        runs[k].push(await method());
      }
    }
    const wall = runs.map((r) => median(r.map((x) => x.wallMs)));
    const sent = runs.map((r) => mb(median(r.map((x) => x.bytes))));
    const h2h = mb(median(runs[0].map((x) => x.hostToHost ?? 0)));
    rows.push([label, sent[0], h2h, sec(wall[0]), sent[1], sec(wall[1]), sent[2], sec(wall[2]), `${(wall[0] / wall[2]).toFixed(2)}x`, `${(wall[0] / wall[1]).toFixed(2)}x`]);
  };

  const berthShip = async (pb: string, relay = true, inventory?: string): Promise<Run> => {
    const r = await apply(pb, relay, inventory);
    must(r, 'ship');
    const content = r.events.find((e): e is Extract<RunEvent, { type: 'content' }> => e.type === 'content');
    return { ...r, hostToHost: content?.hostToHost ?? 0 };
  };
  // 1. The whole image to hosts that have none of it.
  await measure('100 MB image, hosts have nothing', () => berthShip(ship), () => berthShip(ship, false), () => saveLoad(tag), () => removeFromHosts([image, tag]));

  // 1b. The same through an uplink of UPLINK_MBIT shared by all hosts, as from an operator's
  // machine or a CI runner far from the fleet; the hosts reach each other directly.
  const uplink = await throttledUplink(lab.hosts.map((h) => h.port), (UPLINK_MBIT * 1e6) / 8);
  try {
    const via = viaPorts(uplink.ports);
    await measure(`the same, controller uplink ${UPLINK_MBIT} Mbit/s`, () => berthShip(ship, true, via.inventory), () => berthShip(ship, false, via.inventory), () => saveLoad(tag, via), () => removeFromHosts([image, tag]));
  } finally {
    uplink.close();
  }

  // 2. The next version: the same image plus a 1 MB layer; hosts have the previous version.
  writeFileSync(join(ctx, 'Dockerfile'), 'FROM scratch\nCOPY busybox /bin/busybox\nCOPY big.bin /big.bin\nCOPY small.bin /small.bin\nCMD ["/bin/busybox", "true"]\n');
  writeFileSync(join(ctx, 'small.bin'), randomBytes(1_000_000));
  must(await apply(ship), 'build v2 on the controller');
  const tag2 = execFileSync('docker', ['images', '--format', '{{.Repository}}:{{.Tag}}', `berth/${image}`], { encoding: 'utf8' }).trim().split('\n').find((t) => t !== tag)!;
  controllerImages.push(tag2);
  const resetToV1 = () => {
    removeFromHosts([image, tag2]);
    for (const h of lab.hosts) execFileSync('sh', ['-c', `docker save ${tag} | ssh ${sshArgs(h.port).join(' ')} docker load -q >/dev/null`]);
  };
  await measure('next version (+1 MB layer), hosts have v1', () => berthShip(ship), () => berthShip(ship, false), () => saveLoad(tag2), resetToV1);

  // 3. Nothing to do: every host has the image.
  const noop: number[] = [];
  for (let i = 0; i < RUNS; i++) noop.push((await berthShip(ship)).wallMs);

  // 4. A build on the hosts whose context did not change: the task's own time, and the run's.
  const app = join(dir, 'app');
  mkdirSync(join(app, 'www'), { recursive: true });
  writeFileSync(join(app, 'Dockerfile'), 'FROM scratch\nCOPY busybox /bin/busybox\nCOPY www/ /www/\n');
  writeFileSync(join(app, 'busybox'), execFileSync('ssh', [...sshArgs(lab.hosts[0].port), 'cat /bin/busybox'], { maxBuffer: 1 << 26 }));
  writeFileSync(join(app, 'www/index.html'), 'hello\n');
  const build = write('build.yml', `name: build\nplays:\n  - hosts: all\n    tasks:\n      - image: { name: bench-app, build: { context: app } }\n`);
  const firstBuild = await apply(build);
  must(firstBuild, 'first build');
  const buildTask = (r: { events: RunEvent[] }) => Math.max(...r.events.filter((e) => e.type === 'task-end').map((e) => (e as { durationMs: number }).durationMs));
  const empty = write('empty.yml', 'name: empty\nplays:\n  - hosts: all\n    tasks: []\n');
  const noChange: Array<{ task: number; wall: number }> = [];
  const emptyWall: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const r = await apply(build);
    must(r, 'no-change build');
    noChange.push({ task: buildTask(r), wall: r.wallMs });
    emptyWall.push((await apply(empty)).wallMs);
  }

  const head = ['case (3 hosts)', 'berth sent', 'host to host', 'berth wall', '--no-relay sent', '--no-relay wall', 'save|ssh load sent', 'save|ssh load wall', 'berth / save|ssh', 'berth / --no-relay'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (r: string[]) => r.map((c, i) => c.padEnd(widths[i])).join('  ');
  console.log(`image distribution, median of ${RUNS} runs (${new Date().toISOString()}); docker save of the image: ${mb(saveSize)}`);
  console.log('"sent": bytes written to the SSH channels by the controller (berth: plan + layer blobs, raw frames on the agent channel, streamed into docker load); "host to host": bytes the hosts passed each other through their relays (docs/images.md)');
  console.log(line(head));
  for (const r of rows) console.log(line(r));
  console.log(`no change (hosts have the image): berth ${sec(median(noop))}, 0 layer bytes`);
  console.log(`build with an unchanged context: task ${Math.round(median(noChange.map((x) => x.task)))} ms (slowest host), run ${sec(median(noChange.map((x) => x.wall)))}; empty playbook run ${sec(median(emptyWall))}`);
  console.log(`first build of that image on the hosts: ${Math.round(buildTask(firstBuild))} ms (slowest host)`);
} finally {
  for (const t of controllerImages) {
    try {
      execFileSync('docker', ['image', 'rm', '-f', t], { stdio: 'ignore' });
    } catch {
      // Already gone.
    }
  }
  await labDown({ name, stateRoot });
  rmSync(stateRoot, { recursive: true, force: true });
}
