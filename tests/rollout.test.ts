// Rolling upgrades on 3 lab hosts with a real etcd registry and an ambassador on h1: a client
// sends requests through the ambassador during every rollout and each failed request is
// counted; etcd is watched from here, so "never registered" is what etcd itself saw.
import { Etcd3 } from 'etcd3';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { berth } from './helpers/berth-cli.js';
import { registryLab, requestLoop, type Applied, type RegistryLab } from './registry-lab.js';

const root = new URL('..', import.meta.url).pathname;
let rl: RegistryLab;
let etcd: Etcd3;
let watcher: { cancel(): Promise<void> } | undefined;
const puts: Array<{ t: number; key: string; release: string; host: string }> = [];
const figures: string[] = [];

const playbook = (rollout: string) => `name: roll
plays:
  - name: discovery
    hosts: all
    tasks:
      - registry: { backend: etcd, endpoints: ["${rl.etcdUrl}"], ttl: 5s, host: "{{inventory_hostname}}" }
      - name: ambassador
        ambassador: { services: { web: { port: 18080 } }, repo: "{{berth_apt_repo}}" }
        when: inventory_hostname == "h1"
  - name: web
    hosts: all
    rollout: ${rollout}
    services:
      web:
        image: lab/busybox
        replicas: 2
        # Serves its version at /; /healthz exists unless this host is named in BAD.
        command: [sh, -c, 'mkdir -p /www && echo "$VERSION" > /www/index.html && case " $BAD " in *" $BERTH_HOST "*) ;; *) echo ok > /www/healthz ;; esac; exec httpd -f -p 80 -h /www']
        environment: { VERSION: "{{version}}", BAD: "{{bad}}", BERTH_HOST: "{{inventory_hostname}}" }
        ports: ["80"]
        volumes: ["webdata:/data"]
        health: { http: { port: 80, path: /healthz }, interval: 1s, retries: 2 }
        register: { name: web, port: 80 }
`;
const DEFAULT_ROLLOUT = '{ serial: 1, order: start-first, auto_revert: true, min_healthy_time: 1s, healthy_deadline: 8s, drain_time: 1s }';

const apply = (version: string, opts: { rollout?: string; bad?: string; command?: string } = {}): Promise<Applied> =>
  rl.apply(`roll-${version}`, playbook(opts.rollout ?? DEFAULT_ROLLOUT), ['-e', `version=${version}`, '-e', `bad=${opts.bad ?? ''}`]);

/** VERSION of each running web container on a host, by name. */
async function versions(h: number): Promise<Record<string, string>> {
  const r = await rl.ssh(rl.hosts[h], `docker ps --filter label=berth.service=web --format '{{.Names}}' | sort | while read n; do echo "$n $(docker inspect -f '{{range .Config.Env}}{{println .}}{{end}}' $n | sed -n 's/^VERSION=//p')"; done`);
  return Object.fromEntries(r.stdout.split('\n').filter(Boolean).map((l) => l.split(' ') as [string, string]));
}

const ids = async (h: number) => (await rl.ssh(rl.hosts[h], "docker ps -a --filter label=berth.service=web --format '{{.ID}} {{.Names}}' | sort")).stdout;
const failedOf = (lines: Array<{ body: string }>) => lines.filter((l) => l.body === '(failed)' || l.body === '').length;
const bodies = (lines: Array<{ body: string }>) => [...new Set(lines.map((l) => l.body))].sort();

test.before(async () => {
  rl = await registryLab('rollout', 3, { etcd: true });
  etcd = new Etcd3({ hosts: rl.etcdUrl! });
  const w = (watcher = await etcd.watch().prefix('/berth/services/web/').create());
  w.on('put', (kv) => {
    const v = JSON.parse(kv.value.toString()) as { release: string; host: string };
    puts.push({ t: Date.now(), key: kv.key.toString(), release: v.release, host: v.host });
  });
});

test.after(async () => {
  for (const f of figures) process.stderr.write(`  [rollout] ${f}\n`);
  // An open watch stream keeps the process alive even after close().
  await watcher?.cancel().catch(() => {});
  etcd?.close();
  await rl?.down();
});

test('first release: every host gets 2 healthy, registered replicas; h1\'s ambassador reaches them', async () => {
  const r = await apply('v1');
  assert.is(r.code, 0, r.stderr + JSON.stringify(r.events.filter((e) => e.status === 'failed')));
  for (const h of [0, 1, 2]) assert.equal(Object.values(await versions(h)), ['v1', 'v1'], `host ${h}`);
  const hosts = new Set(puts.map((p) => p.host));
  assert.equal([...hosts].sort(), ['h1', 'h2', 'h3']);
  const probe = await rl.ssh(rl.hosts[0], 'for i in $(seq 1 12); do curl -s -m 2 http://127.0.0.1:18080/ || echo "(failed)"; done');
  assert.not.match(probe.stdout, '(failed)', probe.stdout);
  assert.match(probe.stdout, 'v1');
});

test('rolling upgrade, start-first, serial 1: batch by batch, and 0 failed requests through the ambassador', async () => {
  const loop = requestLoop(rl, rl.hosts[0], 'http://127.0.0.1:18080/', 240);
  await new Promise((r) => setTimeout(r, 1500));
  const t0 = Date.now();
  const r = await apply('v2');
  const took = Date.now() - t0;
  await new Promise((r2) => setTimeout(r2, 1500));
  const lines = await loop.stop();
  assert.is(r.code, 0, r.stderr + JSON.stringify(r.events.filter((e) => e.status === 'failed')));
  const batches = r.events.filter((e) => e.type === 'batch-start');
  assert.equal(batches.map((b) => b.hosts), [['h1'], ['h2'], ['h3']]);
  // Each host's task-end says the release web is now at: what the recap's RELEASES lists.
  const releases = r.events.filter((e) => e.type === 'task-end' && e.service === 'web').map((e) => e.release);
  assert.is(releases.length, 3);
  for (const rel of releases) assert.match(rel, /^[0-9a-f]{12}$/);
  for (const h of [0, 1, 2]) assert.equal(Object.values(await versions(h)), ['v2', 'v2'], `host ${h}`);
  const failed = failedOf(lines);
  figures.push(`rolling upgrade v1 -> v2 on 3 hosts x 2 replicas (serial 1, start-first): ${lines.length} requests through the ambassador, ${failed} failed, ${(took / 1000).toFixed(1)} s`);
  assert.ok(lines.length > 20, `the client made ${lines.length} requests`);
  assert.is(failed, 0, `failed requests: ${failed} of ${lines.length}`);
  assert.equal(bodies(lines), ['v1', 'v2']);
});

test('a release that fails its health check: its batch goes back, the rollout stops, later hosts untouched, never registered (exit 4)', async () => {
  const before2 = await ids(1);
  const before3 = await ids(2);
  const seen = puts.length;
  const loop = requestLoop(rl, rl.hosts[0], 'http://127.0.0.1:18080/', 240);
  const r = await apply('v3', { bad: 'h1 h2 h3' });
  const lines = await loop.stop();
  assert.is(r.code, 4, r.stderr);
  const halted = r.events.find((e) => e.type === 'rollout-halted');
  assert.ok(halted, 'a rollout-halted event');
  assert.equal(halted.untouched, ['h2', 'h3']);
  const reverted = r.events.find((e) => e.type === 'rollout-revert-end' && e.host === 'h1');
  assert.ok(reverted?.ok, JSON.stringify(reverted));
  // The revert says where it left each service: web back at h1's running release.
  const h1Release = (await rl.ssh(rl.hosts[0], "docker ps --filter label=berth.service=web --format '{{.Label \"berth.release\"}}' | sort -u")).stdout;
  assert.is(reverted?.releases?.web, h1Release);
  // What the operator needs first: the gate's words, the probe output and the container's logs.
  const failedTask = r.events.find((e) => e.type === 'task-end' && e.host === 'h1' && e.status === 'failed');
  assert.match(String(failedTask?.message), /health|healthy/);
  assert.match(String(failedTask?.message), 'last health output');
  assert.match(String(failedTask?.message), 'last log lines of');
  assert.equal(Object.values(await versions(0)), ['v2', 'v2']);
  assert.is(await ids(1), before2, 'h2 was not touched');
  assert.is(await ids(2), before3, 'h3 was not touched');
  // etcd never held an instance of the failing release: every registration written during this
  // run names a release that is running now (v2, each host's own), and the client never got v3.
  const running = new Set<string>();
  for (const h of [0, 1, 2]) (await rl.ssh(rl.hosts[h], "docker ps --filter label=berth.service=web --format '{{.Label \"berth.release\"}}'")).stdout.split('\n').filter(Boolean).forEach((x) => running.add(x));
  for (const p of puts.slice(seen)) assert.ok(running.has(p.release), `etcd listed release ${p.release} of ${p.host}, which is not a running one (${[...running].join(', ')})`);
  assert.not.ok(bodies(lines).includes('v3'), `answers: ${bodies(lines).join(', ')}`);
  assert.is(failedOf(lines), 0, 'the old instances kept serving');
  figures.push(`failing release v3: reverted on h1, halted before h2/h3; ${lines.length} requests meanwhile, ${failedOf(lines)} failed`);
});

test('max_fail_percentage is a budget across batches: one failed host is tolerated, the second halts', async () => {
  const r = await apply('v4', { rollout: '{ serial: 1, max_fail_percentage: 34, min_healthy_time: 0s, healthy_deadline: 6s, drain_time: 0s }', bad: 'h1 h2' });
  assert.is(r.code, 4, r.stderr);
  const ends = r.events.filter((e) => e.type === 'batch-end');
  assert.equal(ends.map((e) => e.failed), [['h1'], ['h2']]);
  const halted = r.events.find((e) => e.type === 'rollout-halted');
  assert.equal(halted?.untouched, ['h3']);
  assert.equal(Object.values(await versions(2)), ['v2', 'v2'], 'h3 untouched');
  // Back to a healthy v2 everywhere for what follows.
  const back = await apply('v2');
  assert.is(back.code, 0, back.stderr);
});

test('canary, then promote: the canary host alone, a pause, then the rest', async () => {
  const r = await apply('v5', { rollout: '{ canary: 1, serial: 2, min_healthy_time: 0s, healthy_deadline: 8s, drain_time: 0s }' });
  assert.is(r.code, 0, r.stderr);
  assert.ok(r.events.find((e) => e.type === 'rollout-paused'));
  assert.equal(Object.values(await versions(0)), ['v5', 'v5']);
  assert.equal(Object.values(await versions(1)), ['v2', 'v2']);
  assert.equal(Object.values(await versions(2)), ['v2', 'v2']);
  const pb = join(rl.lab.dir, 'roll-v5.yml');
  const p = await berth(['promote', pb, '-i', rl.lab.inventoryPath, '-e', 'version=v5', '-e', 'bad=', '--plain']);
  assert.is(p.code, 0, p.stdout + p.stderr);
  assert.match(p.stdout, 'BATCH 2/2');
  for (const h of [0, 1, 2]) assert.equal(Object.values(await versions(h)), ['v5', 'v5'], `host ${h}`);
});

test('releases lists the history; rollback boots the previous release on every host without building anything', async () => {
  const pb = join(rl.lab.dir, 'roll-v5.yml');
  const rel = await berth(['releases', 'web', '-p', pb, '-i', rl.lab.inventoryPath]);
  assert.is(rel.code, 0, rel.stderr);
  assert.match(rel.stdout, /h1 \(current [0-9a-f]{12}/);
  const imagesBefore = (await rl.ssh(rl.hosts[1], 'docker images -q | sort')).stdout;
  const t0 = Date.now();
  const rb = await berth(['rollback', 'web', '-p', pb, '-i', rl.lab.inventoryPath]);
  const took = Date.now() - t0;
  assert.is(rb.code, 0, rb.stdout + rb.stderr);
  for (const h of [0, 1, 2]) assert.equal(Object.values(await versions(h)), ['v2', 'v2'], `host ${h}`);
  assert.is((await rl.ssh(rl.hosts[1], 'docker images -q | sort')).stdout, imagesBefore, 'no image was built or pulled');
  figures.push(`rollback v5 -> v2 on 3 hosts x 2 replicas: ${(took / 1000).toFixed(1)} s (whole command)`);
  const unknown = await berth(['rollback', 'web', '-p', pb, '-i', rl.lab.inventoryPath, '--to', 'ffffffffffff']);
  assert.is(unknown.code, 1, unknown.stderr);
  assert.match(unknown.stderr, 'has no release "ffffffffffff"');
  for (const h of [0, 1, 2]) assert.equal(Object.values(await versions(h)), ['v2', 'v2'], `nothing changed on host ${h}`);
});

test('a controller killed mid-rollout: the next apply converges, no duplicate containers, the lock recovered, volume data intact', async () => {
  await rl.ssh(rl.hosts[0], 'docker exec roll-web-1 sh -c "echo keep > /data/marker"');
  const pb = rl.lab.dir + '/roll-v6.yml';
  const { writeFileSync } = await import('node:fs');
  writeFileSync(pb, playbook(DEFAULT_ROLLOUT));
  const child = spawn(process.execPath, [join(root, 'bin/berth.js'), 'apply', pb, '-i', rl.lab.inventoryPath, '-e', 'version=v6', '-e', 'bad=', '--json'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  // Killed once the first batch is under way.
  for (let i = 0; i < 600 && !out.includes('"batch-start"'); i++) await new Promise((r) => setTimeout(r, 100));
  await new Promise((r) => setTimeout(r, 1500));
  child.kill('SIGKILL');
  await new Promise((r) => child.on('close', r));
  // The killed run's agents finish their current task, then give the locks back: what
  // `berth lock status` shows an operator before they apply again.
  let status = '';
  for (let i = 0; i < 120; i++) {
    status = (await berth(['lock', 'status', '-i', rl.lab.inventoryPath, '--json'])).stdout;
    const states = status.split('\n').filter(Boolean).map((l) => (JSON.parse(l) as { state: string }).state);
    if (states.length === 3 && states.every((x) => x === 'free')) break;
    await new Promise((r) => setTimeout(r, 1000));
  }
  assert.equal(status.split('\n').filter(Boolean).map((l) => (JSON.parse(l) as { state: string }).state), ['free', 'free', 'free'], status);
  const again = await rl.apply('roll-v6b', playbook(DEFAULT_ROLLOUT), ['-e', 'version=v6', '-e', 'bad=']);
  assert.is(again.code, 0, again.stderr + JSON.stringify(again.events.filter((e) => e.status === 'failed')));
  for (const h of [0, 1, 2]) {
    const v = await versions(h);
    assert.equal(Object.keys(v).sort(), ['roll-web-1', 'roll-web-2'], `host ${h}: ${JSON.stringify(v)}`);
    assert.equal(Object.values(v), ['v6', 'v6']);
  }
  assert.is((await rl.ssh(rl.hosts[0], 'docker exec roll-web-1 cat /data/marker')).stdout, 'keep');
});

test.run();
