// Rolling upgrades on 3 lab hosts with a real etcd registry and an ambassador on h1: a client
// sends requests through the ambassador during rollouts and each failed request is counted. The
// ambassador runs with `retries: 0` (no retry, no redispatch), so a request routed to an instance
// that stopped while still registered fails instead of being quietly sent elsewhere. etcd is
// watched from here and each host's `docker events` are recorded, so "left the registry before
// its container got SIGTERM" is what etcd and dockerd themselves saw.
import { Etcd3 } from 'etcd3';
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { emptyModel, reduce } from '../cli/report/model.js';
import { recapLines } from '../cli/report/plain-recap.js';
import { berth } from './helpers/berth-cli.js';
import { registryLab, requestLoop, type Applied, type Ev, type RegistryLab } from './registry-lab.js';

const root = new URL('..', import.meta.url).pathname;
const PREFIX = '/berth/services/web/';
let rl: RegistryLab;
let etcd: Etcd3;
let watcher: { cancel(): Promise<void> } | undefined;
/** Every change etcd made to web's keys, as this process saw it (so never earlier than it happened). */
const reg: Array<{ t: number; type: 'put' | 'delete'; key: string; release?: string; host?: string }> = [];
/** Every container event on every host, by the hosts' dockerd (the same kernel clock as this process). */
const dockerEvents: Array<{ host: string; t: number; action: string; id: string; name: string; service?: string; release?: string; replica?: string; signal?: string }> = [];
const eventStreams: ChildProcess[] = [];
const figures: string[] = [];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// The server leaves on SIGTERM (sh traps it), as a real one does: a container stopped while
// still routed to refuses connections at once instead of serving on through a grace period.
const SERVE = `httpd -f -p 80 -h /www & trap "exit 0" TERM; wait`;
const playbook = (rollout: string, opts: { update?: string } = {}) => `name: roll
vars: { image: lab/busybox }
plays:
  - name: discovery
    hosts: all
    tasks:
      - registry: { backend: etcd, endpoints: ["${rl.etcdUrl}"], ttl: 5s, host: "{{inventory_hostname}}" }
      - name: ambassador
        ambassador: { services: { web: { port: 18080 } }, retries: 0, repo: "{{berth_apt_repo}}" }
        when: inventory_hostname == "h1"
  - name: web
    hosts: all
    rollout: ${rollout}
    services:
      web:
        image: "{{image}}"
        replicas: 2
        # Serves its version at /; /healthz exists unless this host is named in BAD.
        command: [sh, -c, 'mkdir -p /www && echo "$VERSION" > /www/index.html && case " $BAD " in *" $BERTH_HOST "*) ;; *) echo ok > /www/healthz ;; esac; ${SERVE}']
        environment: { VERSION: "{{version}}", BAD: "{{bad}}", BERTH_HOST: "{{inventory_hostname}}" }
        ports: ["80"]
        volumes: ["webdata:/data"]
        health: { http: { port: 80, path: /healthz }, interval: 1s, retries: 2 }
        register: { name: web, port: 80 }${opts.update ? `\n        update: ${opts.update}` : ''}
`;
const DEFAULT_ROLLOUT = '{ serial: 1, order: start-first, auto_revert: true, min_healthy_time: 1s, healthy_deadline: 8s, drain_time: 1s }';
const FAST = 'min_healthy_time: 0s, healthy_deadline: 8s, drain_time: 0s';

const apply = (version: string, opts: { rollout?: string; bad?: string; image?: string; update?: string; name?: string } = {}): Promise<Applied> =>
  rl.apply(opts.name ?? `roll-${version}`, playbook(opts.rollout ?? DEFAULT_ROLLOUT, opts), ['-e', `version=${version}`, '-e', `bad=${opts.bad ?? ''}`, ...(opts.image ? ['-e', `image=${opts.image}`] : [])]);

/** VERSION of each running web container on a host, by name. */
async function versions(h: number): Promise<Record<string, string>> {
  const r = await rl.ssh(rl.hosts[h], `docker ps --filter label=berth.service=web --format '{{.Names}}' | sort | while read n; do echo "$n $(docker inspect -f '{{range .Config.Env}}{{println .}}{{end}}' $n | sed -n 's/^VERSION=//p')"; done`);
  return Object.fromEntries(r.stdout.split('\n').filter(Boolean).map((l) => l.split(' ') as [string, string]));
}

const ids = async (h: number) => (await rl.ssh(rl.hosts[h], "docker ps -a --filter label=berth.service=web --format '{{.ID}} {{.Names}}' | sort")).stdout;
/** "name image-id release" of each running web container on a host. */
const running = async (h: number) =>
  (await rl.ssh(rl.hosts[h], `docker ps --filter label=berth.service=web --format '{{.Names}}' | sort | while read n; do docker inspect -f '{{.Name}} {{.Image}} {{index .Config.Labels "berth.release"}}' $n; done`)).stdout.replace(/^\//gm, '');
/** The one release web runs at on a host. */
const releaseOf = async (h: number) => (await rl.ssh(rl.hosts[h], "docker ps --filter label=berth.service=web --format '{{.Label \"berth.release\"}}' | sort -u")).stdout;
const failedOf = (lines: Array<{ body: string }>) => lines.filter((l) => l.body === '(failed)' || l.body === '').length;

/** What happened around each failed request (ms after t0): for the message of a failed assertion. */
function timeline(t0: number, lines: Array<{ t: number; rc: number; body: string }>): string {
  const rows = [
    ...lines.filter((l) => l.body === '(failed)' || l.body === '').map((l) => ({ t: l.t, what: `request failed (curl ${l.rc})` })),
    ...reg.filter((e) => e.t >= t0).map((e) => ({ t: e.t, what: `etcd ${e.type} ${e.key.slice(PREFIX.length)}${e.release ? ` ${e.release}` : ''}` })),
    ...dockerEvents.filter((e) => e.t >= t0 && e.service === 'web' && ['kill', 'die', 'start'].includes(e.action)).map((e) => ({ t: e.t, what: `${e.host} ${e.action} ${e.name} ${e.release}${e.signal ? ` signal ${e.signal}` : ''}` })),
  ];
  return rows.sort((a, b) => a.t - b.t).map((r) => `${Math.round(r.t - t0)} ${r.what}`).join('\n');
}
const bodies = (lines: Array<{ body: string }>) => [...new Set(lines.map((l) => l.body))].sort();

/** etcd's web entries now: key (host/id) -> release. */
async function entries(): Promise<Record<string, string>> {
  const all = await etcd.getAll().prefix(PREFIX).strings();
  return Object.fromEntries(Object.entries(all).map(([k, v]) => [k.slice(PREFIX.length), (JSON.parse(v) as { release: string }).release]));
}

/**
 * For each instance of the release a host ran before `since`: when it left etcd (its key deleted,
 * or written for another release) and when its container got SIGTERM (docker's "kill" event,
 * signal 15); for stop-first also when the new container of that replica started.
 */
function drainOrder(since: number, before: Record<string, string>) {
  return Object.entries(before).flatMap(([host, old]) =>
    ['1', '2'].map((replica) => {
      const key = `${PREFIX}${host}/roll-web-${replica}`;
      const left = reg.find((e) => e.t >= since && e.key === key && (e.type === 'delete' || e.release !== old));
      const term = dockerEvents.find((e) => e.t >= since && e.host === host && e.action === 'kill' && e.signal === '15' && e.release === old && e.replica === replica);
      const started = dockerEvents.find((e) => e.t >= since && e.host === host && e.action === 'start' && e.service === 'web' && e.release !== old && e.replica === replica);
      return { who: `${host}/web-${replica}`, left: left?.t, leftBy: left?.type, term: term?.t, started: started?.t };
    }),
  );
}

const span = (xs: number[]) => `${Math.round(Math.min(...xs))}-${Math.round(Math.max(...xs))}`;

/** Every old instance left etcd before its SIGTERM; returns the gaps (ms). */
function assertLeftBeforeTerm(order: ReturnType<typeof drainOrder>): number[] {
  for (const o of order) {
    assert.ok(o.left !== undefined, `${o.who}: etcd never saw the old instance leave (${JSON.stringify(o)})`);
    assert.ok(o.term !== undefined, `${o.who}: its old container never got SIGTERM (${JSON.stringify(o)})`);
    assert.ok(o.left! < o.term!, `${o.who}: SIGTERM ${Math.round(o.left! - o.term!)} ms before it left etcd`);
  }
  return order.map((o) => o.term! - o.left!);
}

/** Most hosts running the play at one time, from the order of their task events. */
function mostAtOnce(events: Ev[], play: number): number {
  const open = new Set<string>();
  let most = 0;
  for (const e of events) {
    if (e.play !== play) continue;
    if (e.type === 'task-start') open.add(e.host);
    if (e.type === 'task-end') open.delete(e.host);
    most = Math.max(most, open.size);
  }
  return most;
}

async function locksFree(): Promise<string> {
  let status = '';
  for (let i = 0; i < 120; i++) {
    status = (await berth(['lock', 'status', '-i', rl.lab.inventoryPath, '--json'])).stdout;
    const states = status.split('\n').filter(Boolean).map((l) => (JSON.parse(l) as { state: string }).state);
    if (states.length === 3 && states.every((x) => x === 'free')) break;
    await sleep(1000);
  }
  return status;
}

function recordDockerEvents(h: number): void {
  const child = rl.sshSpawn(rl.hosts[h], "docker events --filter type=container --format '{{json .}}'");
  let partial = '';
  child.stdout!.setEncoding('utf8');
  child.stdout!.on('data', (d: string) => {
    const lines = (partial + d).split('\n');
    partial = lines.pop() ?? '';
    for (const l of lines) {
      if (!l.startsWith('{')) continue;
      const e = JSON.parse(l) as { Action?: string; status?: string; id?: string; timeNano: number; Actor?: { ID?: string; Attributes?: Record<string, string> } };
      const a = e.Actor?.Attributes ?? {};
      dockerEvents.push({ host: rl.hosts[h].name, t: e.timeNano / 1e6, action: e.Action ?? e.status ?? '', id: e.id ?? e.Actor?.ID ?? '', name: a.name, service: a['berth.service'], release: a['berth.release'], replica: a['berth.replica'], signal: a.signal });
    }
  });
  eventStreams.push(child);
}

test.before(async () => {
  rl = await registryLab('rollout', 3, { etcd: true });
  etcd = new Etcd3({ hosts: rl.etcdUrl! });
  const w = (watcher = await etcd.watch().prefix(PREFIX).create());
  w.on('put', (kv) => {
    const v = JSON.parse(kv.value.toString()) as { release: string; host: string };
    reg.push({ t: Date.now(), type: 'put', key: kv.key.toString(), release: v.release, host: v.host });
  });
  w.on('delete', (kv) => reg.push({ t: Date.now(), type: 'delete', key: kv.key.toString() }));
  // A second image on every host (its own id), for a release whose image changes.
  await Promise.all(rl.hosts.map(async (h, i) => {
    const b = await rl.ssh(h, `printf 'FROM lab/busybox\\nLABEL berth.test=two\\n' | DOCKER_BUILDKIT=0 docker build -q -t lab/busybox:two -`);
    if (b.code !== 0) throw new Error(`building lab/busybox:two on ${h.name}: ${b.stderr}`);
    recordDockerEvents(i);
  }));
});

test.after(async () => {
  for (const f of figures) process.stderr.write(`  [rollout] ${f}\n`);
  for (const c of eventStreams) c.kill('SIGTERM');
  // An open watch stream keeps the process alive even after close().
  await watcher?.cancel().catch(() => {});
  etcd?.close();
  await rl?.down();
});

test('first release: every host gets 2 healthy, registered replicas; h1\'s ambassador reaches them, with no retries', async () => {
  const r = await apply('v1');
  assert.is(r.code, 0, r.stderr + JSON.stringify(r.events.filter((e) => e.status === 'failed')));
  for (const h of [0, 1, 2]) assert.equal(Object.values(await versions(h)), ['v1', 'v1'], `host ${h}`);
  const hosts = new Set(reg.filter((e) => e.type === 'put').map((p) => p.host));
  assert.equal([...hosts].sort(), ['h1', 'h2', 'h3']);
  // What the drain tests below rely on: a refused connection reaches the client.
  const cfg = (await rl.ssh(rl.hosts[0], 'cat /var/lib/berth/registry/ambassadors/default/haproxy.cfg')).stdout;
  assert.match(cfg, /\n {2}retries 0\n/);
  assert.not.match(cfg, /redispatch/);
  const probe = await rl.ssh(rl.hosts[0], 'for i in $(seq 1 12); do curl -s -m 2 http://127.0.0.1:18080/ || echo "(failed)"; done');
  assert.not.match(probe.stdout, '(failed)', probe.stdout);
  assert.match(probe.stdout, 'v1');
});

test('rolling upgrade, start-first, serial 1: batch by batch; each old instance leaves etcd before its SIGTERM; 0 failed requests without retries', async () => {
  const before = Object.fromEntries(await Promise.all([0, 1, 2].map(async (h) => [rl.hosts[h].name, await releaseOf(h)] as const)));
  const loop = requestLoop(rl, rl.hosts[0], 'http://127.0.0.1:18080/', 240);
  await sleep(1500);
  const t0 = Date.now();
  const r = await apply('v2');
  const took = Date.now() - t0;
  await sleep(1500);
  const lines = await loop.stop();
  assert.is(r.code, 0, r.stderr + JSON.stringify(r.events.filter((e) => e.status === 'failed')));
  const batches = r.events.filter((e) => e.type === 'batch-start');
  assert.equal(batches.map((b) => b.hosts), [['h1'], ['h2'], ['h3']]);
  // Each host's task-end says the release web is now at: what the recap's RELEASES lists.
  const releases = r.events.filter((e) => e.type === 'task-end' && e.service === 'web').map((e) => e.release);
  assert.is(releases.length, 3);
  for (const rel of releases) assert.match(rel, /^[0-9a-f]{12}$/);
  for (const h of [0, 1, 2]) assert.equal(Object.values(await versions(h)), ['v2', 'v2'], `host ${h}`);
  const gaps = assertLeftBeforeTerm(drainOrder(t0, before));
  const failed = failedOf(lines);
  figures.push(`rolling upgrade v1 -> v2 on 3 hosts x 2 replicas (serial 1, start-first): ${lines.length} requests through the ambassador (no retries), ${failed} failed, ${(took / 1000).toFixed(1)} s; etcd entry moved to the new instance ${span(gaps)} ms before the old one's SIGTERM (drain_time 1s)`);
  assert.ok(lines.length > 20, `the client made ${lines.length} requests`);
  assert.is(failed, 0, `failed requests: ${failed} of ${lines.length}\n${timeline(t0, lines)}`);
  assert.equal(bodies(lines), ['v1', 'v2']);
});

test('a release that fails its health check: its batch goes back, the rollout stops, later hosts untouched, never registered (exit 4)', async () => {
  const before2 = await ids(1);
  const before3 = await ids(2);
  const seen = reg.length;
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
  assert.is(reverted?.releases?.web, await releaseOf(0));
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
  const live = new Set<string>();
  for (const h of [0, 1, 2]) (await rl.ssh(rl.hosts[h], "docker ps --filter label=berth.service=web --format '{{.Label \"berth.release\"}}'")).stdout.split('\n').filter(Boolean).forEach((x) => live.add(x));
  for (const p of reg.slice(seen).filter((x) => x.type === 'put')) assert.ok(live.has(p.release!), `etcd listed release ${p.release} of ${p.host}, which is not a running one (${[...live].join(', ')})`);
  assert.not.ok(bodies(lines).includes('v3'), `answers: ${bodies(lines).join(', ')}`);
  assert.is(failedOf(lines), 0, 'the old instances kept serving');
  figures.push(`failing release v3: reverted on h1, halted before h2/h3; ${lines.length} requests meanwhile, ${failedOf(lines)} failed`);
});

test('auto_revert, a batch of two where the new release passes on h1 and fails on h2: both back at the release before (image, release id, etcd entry), the recap says so (exit 4)', async () => {
  const before = [await running(0), await running(1)];
  const rels = [await releaseOf(0), await releaseOf(1)];
  const untouched = await ids(2);
  const t0 = Date.now();
  const loop = requestLoop(rl, rl.hosts[0], 'http://127.0.0.1:18080/', 240);
  // A new image as well as a new environment: going back means going back to the old image id.
  const r = await apply('v3b', { rollout: '{ serial: 2, auto_revert: true, min_healthy_time: 0s, healthy_deadline: 6s, drain_time: 1s }', bad: 'h2', image: 'lab/busybox:two' });
  const lines = await loop.stop();
  assert.is(r.code, 4, r.stderr);
  const end = r.events.find((e) => e.type === 'batch-end');
  assert.equal([end?.ok, end?.failed], [['h1'], ['h2']]);
  // h1 really was at the new release before the revert: a revert that does nothing would not do.
  const h1New = r.events.find((e) => e.type === 'task-end' && e.host === 'h1' && e.module === 'services.converge');
  assert.is(h1New?.status, 'changed');
  assert.match(h1New?.release, /^[0-9a-f]{12}$/);
  assert.is.not(h1New?.release, rels[0]);
  assert.ok(reg.some((e) => e.t >= t0 && e.type === 'put' && e.key.startsWith(`${PREFIX}h1/`) && e.release === h1New?.release), 'etcd listed h1 at the new release in between');
  const reverts = r.events.filter((e) => e.type === 'rollout-revert-end');
  assert.equal(reverts.map((e) => [e.host, e.ok, e.releases.web]).sort(), [['h1', true, rels[0]], ['h2', true, rels[1]]]);
  assert.equal(r.events.find((e) => e.type === 'rollout-halted')?.untouched, ['h3']);
  // Afterwards: the same images, release ids and names as before the run, and etcd says the same.
  assert.is(await running(0), before[0]);
  assert.is(await running(1), before[1]);
  assert.equal(Object.values(await versions(0)), ['v2', 'v2']);
  assert.is(await ids(2), untouched, 'h3 was not touched');
  const now = await entries();
  assert.equal([now['h1/roll-web-1'], now['h1/roll-web-2'], now['h2/roll-web-1'], now['h2/roll-web-2']], [rels[0], rels[0], rels[1], rels[1]], JSON.stringify(now));
  // The recap as `berth apply` prints it (the same model the plain and live views draw).
  const m = emptyModel(0);
  for (const e of r.events) reduce(m, e as never, 0);
  const recap = recapLines(m, (_c, s) => s);
  const at = recap.indexOf('RELEASES');
  assert.ok(at > 0, recap.join('\n'));
  assert.is(recap[at + 1], `  web: ${rels[0]} on h1 (reverted to the release before this run); ${rels[1]} on h2 (reverted to the release before this run)`);
  assert.is(r.events.find((e) => e.type === 'run-end')?.exitCode, 4);
  assert.not.ok(bodies(lines).some((b) => b !== 'v2' && b !== 'v3b'), `answers: ${bodies(lines).join(', ')}`);
  assert.is(failedOf(lines), 0, `failed requests during the rollout and its revert: ${failedOf(lines)} of ${lines.length}\n${timeline(t0, lines)}`);
  figures.push(`auto_revert of a batch of 2 (h1 passed, h2 failed): both back at their releases before; ${lines.length} requests meanwhile, ${failedOf(lines)} failed`);
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
  const r = await apply('v5', { rollout: `{ canary: 1, serial: 2, ${FAST} }` });
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
  writeFileSync(pb, playbook(DEFAULT_ROLLOUT));
  const child = spawn(process.execPath, [join(root, 'bin/berth.js'), 'apply', pb, '-i', rl.lab.inventoryPath, '-e', 'version=v6', '-e', 'bad=', '--json'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  // Killed once the first batch is under way.
  for (let i = 0; i < 600 && !out.includes('"batch-start"'); i++) await sleep(100);
  await sleep(1500);
  child.kill('SIGKILL');
  await new Promise((r) => child.on('close', r));
  // The killed run's agents finish their current task, then give the locks back: what
  // `berth lock status` shows an operator before they apply again.
  const status = await locksFree();
  assert.equal(status.split('\n').filter(Boolean).map((l) => (JSON.parse(l) as { state: string }).state), ['free', 'free', 'free'], status);
  const again = await apply('v6', { name: 'roll-v6b' });
  assert.is(again.code, 0, again.stderr + JSON.stringify(again.events.filter((e) => e.status === 'failed')));
  for (const h of [0, 1, 2]) {
    const v = await versions(h);
    assert.equal(Object.keys(v).sort(), ['roll-web-1', 'roll-web-2'], `host ${h}: ${JSON.stringify(v)}`);
    assert.equal(Object.values(v), ['v6', 'v6']);
  }
  assert.is((await rl.ssh(rl.hosts[0], 'docker exec roll-web-1 cat /data/marker')).stdout, 'keep');
});

test('order: stop-first: each old instance leaves etcd, then gets SIGTERM, then its replacement starts; 0 failed requests without retries', async () => {
  const before = Object.fromEntries(await Promise.all([0, 1, 2].map(async (h) => [rl.hosts[h].name, await releaseOf(h)] as const)));
  const loop = requestLoop(rl, rl.hosts[0], 'http://127.0.0.1:18080/', 240);
  await sleep(1000);
  const t0 = Date.now();
  // Three hosts at once: the ambassador reloads for six changes in a burst, so the drain is the default 2 s.
  const r = await apply('v7', { rollout: '{ order: stop-first, min_healthy_time: 0s, healthy_deadline: 8s, drain_time: 2s }' });
  await sleep(1000);
  const lines = await loop.stop();
  assert.is(r.code, 0, r.stderr + JSON.stringify(r.events.filter((e) => e.status === 'failed')));
  for (const h of [0, 1, 2]) assert.equal(Object.values(await versions(h)), ['v7', 'v7'], `host ${h}`);
  const order = drainOrder(t0, before);
  const gaps = assertLeftBeforeTerm(order);
  for (const o of order) {
    assert.is(o.leftBy, 'delete', `${o.who}: stop-first deregisters the old instance (its key deleted)`);
    assert.ok(o.started !== undefined && o.started > o.term!, `${o.who}: the new container started after the old one's SIGTERM (${JSON.stringify(o)})`);
  }
  figures.push(`stop-first v6 -> v7 (3 hosts at once): ${lines.length} requests, ${failedOf(lines)} failed; key deleted ${span(gaps)} ms before SIGTERM (drain_time 2s)`);
  assert.ok(lines.length > 20, `the client made ${lines.length} requests`);
  assert.is(failedOf(lines), 0, `failed requests: ${failedOf(lines)} of ${lines.length}\n${timeline(t0, lines)}`);
});

test('a service\'s update: wins over the play\'s rollout key by key: its order (stop-first) with the play\'s drain_time (4s)', async () => {
  const before = Object.fromEntries(await Promise.all([0, 1, 2].map(async (h) => [rl.hosts[h].name, await releaseOf(h)] as const)));
  const t0 = Date.now();
  const r = await apply('v8', { rollout: '{ order: start-first, min_healthy_time: 0s, healthy_deadline: 8s, drain_time: 4s }', update: '{ order: stop-first }' });
  assert.is(r.code, 0, r.stderr + JSON.stringify(r.events.filter((e) => e.status === 'failed')));
  const order = drainOrder(t0, before);
  const gaps = assertLeftBeforeTerm(order);
  for (const o of order) assert.ok(o.started !== undefined && o.started > o.term!, `${o.who}: stop-first, the service's order (${JSON.stringify(o)})`);
  // The default drain_time is 2s: a service update: that replaced the play's rollout whole would show it.
  assert.ok(Math.min(...gaps) >= 3000, `the play's drain_time (4s) between leaving etcd and SIGTERM: ${gaps.join(', ')} ms`);
  figures.push(`update: { order: stop-first } under rollout: { order: start-first, drain_time: 4s }: key deleted ${span(gaps)} ms before SIGTERM`);
});

test('progress_deadline: a batch that took longer halts the rollout; later hosts untouched (exit 4)', async () => {
  const untouched = [await ids(1), await ids(2)];
  const r = await apply('v9', { rollout: '{ serial: 1, progress_deadline: 1s, min_healthy_time: 1s, healthy_deadline: 8s, drain_time: 0s }' });
  assert.is(r.code, 4, r.stderr);
  const halted = r.events.find((e) => e.type === 'rollout-halted');
  assert.match(String(halted?.reason), /^batch 1 took \d+ s, past progress_deadline \(1 s\)$/);
  assert.equal(halted?.untouched, ['h2', 'h3']);
  assert.equal(r.events.filter((e) => e.type === 'batch-start').map((e) => e.hosts), [['h1']]);
  assert.equal(Object.values(await versions(0)), ['v9', 'v9']);
  assert.equal([await ids(1), await ids(2)], untouched, 'h2 and h3 untouched');
});

test('max_parallel: 1: one batch of every host, changed one host at a time', async () => {
  const r = await apply('v9', { name: 'roll-v9-parallel', rollout: '{ max_parallel: 1, min_healthy_time: 1s, healthy_deadline: 8s, drain_time: 0s }' });
  assert.is(r.code, 0, r.stderr + JSON.stringify(r.events.filter((e) => e.status === 'failed')));
  assert.equal(r.events.filter((e) => e.type === 'batch-start').map((e) => e.hosts), [['h1', 'h2', 'h3']]);
  // h2 and h3 had v8 (progress_deadline stopped before them): each took seconds, never together.
  assert.is(mostAtOnce(r.events, 1), 1);
  assert.equal(r.events.filter((e) => e.type === 'task-end' && e.module === 'services.converge' && e.status === 'changed').map((e) => e.host).sort(), ['h2', 'h3']);
  for (const h of [0, 1, 2]) assert.equal(Object.values(await versions(h)), ['v9', 'v9'], `host ${h}`);
});

test('auto_promote: the canary batch, then the others without a pause (exit 0)', async () => {
  const r = await apply('v10', { rollout: `{ canary: 1, auto_promote: true, serial: 2, ${FAST} }` });
  assert.is(r.code, 0, r.stderr);
  assert.not.ok(r.events.some((e) => e.type === 'rollout-paused'), 'no pause');
  assert.equal(r.events.filter((e) => e.type === 'batch-start').map((e) => [e.canary, e.hosts]), [[true, ['h1']], [false, ['h2', 'h3']]]);
  for (const h of [0, 1, 2]) assert.equal(Object.values(await versions(h)), ['v10', 'v10'], `host ${h}`);
});

test('a fixed host port forces stop-first under order: start-first, with a line saying so', async () => {
  const fixed = (version: string) => `name: fixed
plays:
  - hosts: h1
    rollout: { order: start-first, ${FAST} }
    services:
      pinned:
        image: lab/busybox
        command: [sh, -c, 'mkdir -p /www && echo ${version} > /www/index.html && echo ok > /www/healthz && ${SERVE}']
        ports: ["18090:80"]
        health: { http: { port: 80, path: /healthz }, interval: 1s, retries: 2 }
`;
  const first = await rl.apply('fixed-a', fixed('a'));
  assert.is(first.code, 0, first.stderr + JSON.stringify(first.events.filter((e) => e.status === 'failed')));
  const t0 = Date.now();
  const r = await rl.apply('fixed-b', fixed('b'));
  assert.is(r.code, 0, r.stderr + JSON.stringify(r.events.filter((e) => e.status === 'failed')));
  assert.ok(r.events.some((e) => e.type === 'output' && e.host === 'h1' && /fixed-pinned-1: publishes a fixed host port, so it is replaced stop-first/.test(e.line)), JSON.stringify(r.events.filter((e) => e.type === 'output')));
  const ev = dockerEvents.filter((e) => e.t >= t0 && e.host === 'h1' && e.service === 'pinned');
  const oldDied = ev.find((e) => e.action === 'die');
  const newStarted = ev.find((e) => e.action === 'start');
  assert.ok(oldDied && newStarted && oldDied.id !== newStarted.id, JSON.stringify(ev.map((e) => [e.action, e.id.slice(0, 12)])));
  assert.ok(oldDied.t < newStarted.t, 'the old container stopped before the new one started');
  assert.is((await rl.ssh(rl.hosts[0], 'curl -s -m 2 http://127.0.0.1:18090/')).stdout, 'b');
});

test('Ctrl-C during a rollout: the host at work finishes its task, no later batch starts, exit 130; the next run converges the hosts left', async () => {
  const untouched = [await ids(1), await ids(2)];
  const pb = join(rl.lab.dir, 'roll-v11.yml');
  writeFileSync(pb, playbook('{ serial: 1, min_healthy_time: 1s, healthy_deadline: 8s, drain_time: 0s }'));
  let sent = false;
  const r = await berth(['apply', pb, '-i', rl.lab.inventoryPath, '-e', 'version=v11', '-e', 'bad=', '--json'], {
    onEvent: (e, child) => {
      if (!sent && e.type === 'task-start' && e.module === 'services.converge' && e.host === 'h1') {
        sent = true;
        setTimeout(() => child.kill('SIGINT'), 300);
      }
    },
  });
  assert.ok(sent, 'h1 started its web task');
  assert.is(r.code, 130, r.stderr);
  assert.ok(r.events.some((e) => e.type === 'cancelling'));
  assert.equal(r.events.filter((e) => e.type === 'batch-start').map((e) => e.hosts), [['h1']], 'no batch after Ctrl-C');
  assert.is(r.events.find((e) => e.type === 'task-end' && e.module === 'services.converge' && e.host === 'h1')?.status, 'changed', 'h1 finished its current task');
  assert.is(r.events.find((e) => e.type === 'run-end')?.exitCode, 130);
  assert.equal(Object.values(await versions(0)), ['v11', 'v11']);
  assert.equal([await ids(1), await ids(2)], untouched, 'h2 and h3 untouched');
  const next = await apply('v11', { rollout: `{ serial: 1, ${FAST} }`, name: 'roll-v11-next' });
  assert.is(next.code, 0, next.stderr + JSON.stringify(next.events.filter((e) => e.status === 'failed')));
  assert.equal(next.events.filter((e) => e.type === 'task-end' && e.module === 'services.converge').map((e) => [e.host, e.status]), [['h1', 'ok'], ['h2', 'changed'], ['h3', 'changed']]);
  for (const h of [0, 1, 2]) assert.equal(Object.values(await versions(h)), ['v11', 'v11'], `host ${h}`);
});

test('a second Ctrl-C leaves at once, while the host finishes its task on its own; the next run converges', async () => {
  const pb = join(rl.lab.dir, 'roll-v12.yml');
  // Each instance stays under watch 3 s: h1's task outlasts the two Ctrl-C by seconds.
  writeFileSync(pb, playbook('{ serial: 1, min_healthy_time: 3s, healthy_deadline: 8s, drain_time: 0s }'));
  let second = 0;
  const r = await berth(['apply', pb, '-i', rl.lab.inventoryPath, '-e', 'version=v12', '-e', 'bad=', '--json'], {
    onEvent: (e, child) => {
      if (!second && e.type === 'task-start' && e.module === 'services.converge' && e.host === 'h1') {
        second = -1;
        setTimeout(() => child.kill('SIGINT'), 300);
        setTimeout(() => {
          second = Date.now();
          child.kill('SIGINT');
        }, 800);
      }
    },
  });
  const left = Date.now() - second;
  assert.ok(second > 0, 'two SIGINTs were sent');
  assert.is(r.code, 130, r.stderr);
  assert.match(r.stderr, 'interrupted twice: leaving now');
  assert.not.ok(r.events.some((e) => e.type === 'task-end' && e.module === 'services.converge'), 'berth left before h1\'s task ended');
  assert.ok(left < 3000, `left ${left} ms after the second Ctrl-C`);
  // The agent on h1 finishes the converge on its own, then gives the lock back.
  const status = await locksFree();
  assert.equal(status.split('\n').filter(Boolean).map((l) => (JSON.parse(l) as { state: string }).state), ['free', 'free', 'free'], status);
  const v = await versions(0);
  assert.equal(v, { 'roll-web-1': 'v12', 'roll-web-2': 'v12' }, 'h1 at the new release, no container left aside');
  const next = await apply('v12', { rollout: `{ serial: 1, ${FAST} }`, name: 'roll-v12-next' });
  assert.is(next.code, 0, next.stderr + JSON.stringify(next.events.filter((e) => e.status === 'failed')));
  for (const h of [0, 1, 2]) assert.equal(Object.values(await versions(h)), ['v12', 'v12'], `host ${h}`);
  figures.push(`second Ctrl-C: berth left ${left} ms after it; h1 finished its task on its own`);
});

test.run();
