// The embedded registry (no server) on two lab hosts, through the same steps as the etcd test
// where it can: a host knows its own instances at once, and the others' from the fleet view the
// controller pushes at apply time (syncRegistry, run here against real agents). Between two
// syncs, an ambassador learns of a remote instance's death only through haproxy's own checks;
// that limit is tested too, so it stays what docs/registry.md says it is.
//
// h1: web-1 (:8081), the ambassador (web on 127.0.0.1:18080)
// h2: web-1 (:8081), web-bad (no /healthz)
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { RegistryReport, ServiceInstance } from '../protocol/agent-protocol.js';
import { connect, resolveTarget, type SshSession } from '../controller/ssh/index.js';
import { testAgent, type TestAgent } from './modules/run-tasks.js';
import { registryLab, requestCounts, requestLoop, type RegistryLab } from './registry-lab.js';

let rl: RegistryLab;
const sessions: SshSession[] = [];
const agents: TestAgent[] = [];
const figures: string[] = [];
const TTL_S = 5;
const webHealth = '{ http: { port: 80, path: /healthz }, interval: 1s, retries: 2 }';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function until<T>(what: string, fn: () => T | undefined | Promise<T | undefined>, ms = 20_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(50);
  }
}

/** Any apply syncs the registry: it gathers every host's report and pushes the fleet view. */
const applySync = async () => {
  const r = await rl.apply('sync', 'name: sync\nplays:\n  - hosts: all\n    tasks: []\n');
  assert.is(r.code, 0, r.stderr);
};
const report = async (i: number): Promise<RegistryReport> => {
  const r = await agents[i].start.client.request({ method: 'registry.instances', params: {} }).done;
  if (!r.ok) throw new Error(r.error.message);
  return r.result as RegistryReport;
};
const local = async (i: number) => (await report(i)).local.map((x: ServiceInstance) => `${x.host}/${x.id}`);
const haproxyServers = async () => (await rl.ssh(rl.hosts[0], "grep -o 'server [^ ]*' /var/lib/berth/registry/ambassadors/default/haproxy.cfg || true")).stdout.split('\n').filter(Boolean).map((l) => l.slice(7)).sort();

test.before(async () => {
  rl = await registryLab('registry-embedded', 2);
  for (const h of rl.hosts) {
    const t = resolveTarget({ name: h.name, address: h.address, port: h.port, user: 'root', key: rl.lab.keyPath, known_hosts: rl.lab.knownHostsPath }, { sshConfigPath: null, env: {} });
    if (!t.ok) throw new Error(t.error.message);
    const s = await connect(t.value);
    if (!s.ok) throw new Error(s.error.message);
    sessions.push(s.value);
    agents.push(await testAgent(s.value, h.name));
  }
  await rl.runWeb(rl.hosts[0], 'web-1', 8081);
  await rl.runWeb(rl.hosts[1], 'web-1', 8081);
  await rl.runWeb(rl.hosts[1], 'web-bad', 8082, false);
});

test.after(async () => {
  if (figures.length) process.stdout.write(`\nregistry-embedded figures:\n${figures.map((f) => `  ${f}`).join('\n')}\n`);
  for (const a of agents) a.close();
  for (const s of sessions) s.close();
  await rl?.down();
});

test('an instance unhealthy from the start is never registered; healthy ones are registered on their own host', async () => {
  const r = await rl.apply(
    'register',
    `name: register
plays:
  - hosts: all
    tasks:
      - registry: { ttl: ${TTL_S}s, host: "{{inventory_hostname}}" }
      - registration: { container: web-1, name: web, release: r1, health: ${webHealth}, deadline: 20s }
  - hosts: h2
    tasks:
      - registration: { container: web-bad, name: web, health: ${webHealth}, deadline: 3s }
        ignore_errors: true
`,
  );
  const bad = r.ends('h2').at(-1)!;
  assert.is(bad.status, 'failed');
  assert.match(bad.message, /^web-bad was not healthy within 3(\.\d)? s .*HTTP 404/);
  assert.equal(await local(0), ['h1/web-1']);
  assert.equal(await local(1), ['h2/web-1'], 'web-bad is not among h2\'s registrations');
  const rep = await report(1);
  assert.is(rep.backend, 'embedded');
  assert.equal(rep.instances.map((i) => [i.id, i.registered, i.address, i.port]), [['web-1', true, rl.hosts[1].ip, 8081]]);
});

test('the fleet view pushed at apply time lets h1\'s ambassador route to both healthy instances, and only to them', async () => {
  // The apply itself (no test-side sync) gathers both hosts' instances: a template sees them
  // as berth_services, and h1's ambassador gets the fleet view.
  const r = await rl.apply(
    'ambassador',
    `name: ambassador\nplays:\n  - hosts: all\n    tasks:\n      - copy: { dest: /tmp/web-peers, content: "{{join (service_hosts \\"web\\") \\",\\"}}" }\n      - ambassador: { services: { web: { port: 18080 } }, repo: "{{berth_apt_repo}}" }\n        when: inventory_hostname == "h1"\n`,
  );
  assert.is(r.code, 0, `${r.stderr}\n${JSON.stringify(r.ends('h1'))}`);
  assert.is((await rl.ssh(rl.hosts[1], 'cat /tmp/web-peers')).stdout, 'h1,h2', 'what templates see as berth_services');
  const counts = await requestCounts(rl, rl.hosts[0], 'http://127.0.0.1:18080/', 200);
  figures.push(`200 requests through the ambassador: ${JSON.stringify(counts)}`);
  assert.equal(Object.keys(counts).sort(), ['h1-web-1', 'h2-web-1']);
  assert.is(counts['h1-web-1'] + counts['h2-web-1'], 200);
});

test('state files that hold settings and specs are 0600: registry config, instances, statuses, registrations, the fleet view, ambassador specs, the watcher\'s pidfile', async () => {
  const files = ['registry/config.json', 'registry/instances/web-1.json', 'registry/status/web-1.json', 'registry/embedded/web/web-1.json', 'registry/fleet.json', 'registry/ambassadors/default.json', 'watcher/watcher.pid'];
  const out = (await rl.ssh(rl.hosts[0], `cd /var/lib/berth && stat -c '%a %n' ${files.join(' ')}`)).stdout.split('\n');
  assert.equal(out, files.map((f) => `600 ${f}`));
});

test('the ambassador\'s image follows the host\'s haproxy: unchanged, nothing to do; a changed binary, a new image; restored, the old one', async () => {
  const book = `name: ambassador\nplays:\n  - hosts: h1\n    tasks:\n      - ambassador: { services: { web: { port: 18080 } }, repo: "{{berth_apt_repo}}" }\n`;
  const h1 = rl.hosts[0];
  const image = async () => (await rl.ssh(h1, "docker inspect --format '{{.Config.Image}}' berth-ambassador")).stdout;
  const ambassadorTask = (r: Awaited<ReturnType<typeof rl.apply>>) => r.ends('h1').find((e) => e.module === 'ambassador')!;
  const before = await image();
  assert.match(before, /^berth\/ambassador:[0-9a-f]{16}$/);
  const again = await rl.apply('ambassador-again', book);
  assert.is(again.code, 0, again.stderr);
  assert.is(ambassadorTask(again).status, 'ok', `nothing to do: ${JSON.stringify(ambassadorTask(again))}`);
  try {
    // The same file, one byte longer (haproxy still runs: ELF ignores trailing bytes).
    await rl.ssh(h1, 'cp -p /usr/sbin/haproxy /root/haproxy.orig && printf "\\n" >> /usr/sbin/haproxy');
    const changed = await rl.apply('ambassador-changed', book);
    assert.is(changed.code, 0, `${changed.stderr}\n${JSON.stringify(changed.ends('h1'))}`);
    assert.is(ambassadorTask(changed).status, 'changed');
    assert.is.not(await image(), before, 'a new image from the changed binary');
  } finally {
    await rl.ssh(h1, 'cp -p /root/haproxy.orig /usr/sbin/haproxy');
  }
  const back = await rl.apply('ambassador-restored', book);
  assert.is(back.code, 0, back.stderr);
  assert.is(await image(), before, 'the original binary: the original image');
  assert.equal(Object.keys(await requestCounts(rl, h1, 'http://127.0.0.1:18080/', 20)).sort(), ['h1-web-1', 'h2-web-1'], 'and it routes as before');
});

test('a local instance that turns unhealthy leaves the registry and the ambassador at once; it comes back when it recovers', async () => {
  const loop = requestLoop(rl, rl.hosts[0], 'http://127.0.0.1:18080/', 30);
  await sleep(1500);
  const t0 = Number((await rl.ssh(rl.hosts[0], 'date +%s%3N; docker exec web-1 rm /www/healthz')).stdout.split('\n')[0]);
  await until('h1/web-1 to leave the local registrations', async () => (await local(0)).length === 0);
  const tDereg = Date.now();
  await until('the ambassador config to drop h1', async () => !(await haproxyServers()).includes('h1_web-1'));
  await sleep(2000);
  const t1 = Number((await rl.ssh(rl.hosts[0], 'date +%s%3N; docker exec web-1 sh -c "echo ok > /www/healthz"')).stdout.split('\n')[0]);
  await until('h1/web-1 back', async () => (await local(0)).includes('h1/web-1'));
  await sleep(1500);
  const lines = await loop.stop();
  const lastBefore = lines.filter((l) => l.t < t1 && l.body === 'h1-web-1').at(-1)!;
  figures.push(`local instance unhealthy -> deregistered: <= ${tDereg - t0} ms (polled); -> ambassador no longer routing to it: <= ${lastBefore.t - t0} ms`);
  assert.ok(lines.filter((l) => l.t > lastBefore.t && l.t < t1).every((l) => l.body === 'h2-web-1'));
  assert.ok(lines.some((l) => l.t > t1 && l.body === 'h1-web-1'), 'routed to again');
});

test('a remote instance killed between syncs stops getting traffic through haproxy\'s own checks, and leaves the view at the next sync', async () => {
  const loop = requestLoop(rl, rl.hosts[0], 'http://127.0.0.1:18080/', 30);
  await sleep(1000);
  const t0 = Number((await rl.ssh(rl.hosts[1], 'P=$(docker inspect -f "{{.State.Pid}}" web-1); date +%s%3N; kill -9 $P')).stdout.split('\n')[0]);
  await until('h2/web-1 to leave h2\'s registrations', async () => (await local(1)).length === 0, TTL_S * 1000);
  const tDereg = Date.now();
  assert.ok((await haproxyServers()).includes('h2_web-1'), 'h1 still has the old view: nothing told it yet');
  await sleep(6000);
  const lines = await loop.stop();
  const lastBefore = lines.filter((l) => l.body === 'h2-web-1').at(-1)!;
  const failedAfter = lines.filter((l) => l.t > t0 && l.body !== 'h1-web-1' && l.body !== 'h2-web-1').length;
  figures.push(`remote instance killed -> deregistered on its host: <= ${tDereg - t0} ms; h1's ambassador (stale view: haproxy's own checks and redispatch) last answer from it ${t0 - lastBefore.t} ms before the kill; failed requests: ${failedAfter} of ${lines.length}`);
  assert.ok(lines.filter((l) => l.t > t0 + 5000).every((l) => l.body === 'h1-web-1'), 'after fall x inter, haproxy sends everything to h1');
  // Before that, haproxy still picks the dead instance: retries and redispatch take each such
  // connection to h1, so no client sees a failure.
  assert.ok(lines.length > 20, `the client made ${lines.length} requests`);
  assert.is(failedAfter, 0, `failed requests after the kill: ${failedAfter} of ${lines.length}`);
  await applySync();
  await until('the ambassador config to drop h2', async () => !(await haproxyServers()).includes('h2_web-1'));
  await rl.ssh(rl.hosts[1], 'docker start web-1');
  await until('h2/web-1 registered again on h2', async () => (await local(1)).includes('h2/web-1'));
  await applySync();
  await until('the ambassador config to list h2 again', async () => (await haproxyServers()).includes('h2_web-1'));
});

test('a host that reports a forged instance for another host (a newline in its address) is not believed: a warning, and h1\'s haproxy.cfg unchanged', async () => {
  const cfg = async () => (await rl.ssh(rl.hosts[0], 'cat /var/lib/berth/registry/ambassadors/default/haproxy.cfg')).stdout;
  await applySync();
  await sleep(500);
  const before = await cfg();
  assert.match(before, /server h2_web-1 /, 'h1 routes to h2 as the fleet view says');
  // What a compromised h2 can do: write an embedded registration of its own making, for h3,
  // whose address would add a server line to every ambassador that routes to web.
  const forged = { id: 'web-7', service: 'web', host: 'h3', address: '10.0.0.9\n  server evil 10.6.6.6', port: 8081, tags: [], release: 'r1', health: 'passing', registeredAt: new Date().toISOString() };
  const file = '/var/lib/berth/registry/embedded/web/web-7.json';
  await rl.ssh(rl.hosts[1], `cat > ${file} <<'EOF'\n${JSON.stringify({ instance: forged, expiresAt: Date.now() + 3_600_000 })}\nEOF`);
  try {
    const r = await rl.apply('forged', 'name: forged\nplays:\n  - hosts: all\n    tasks: []\n');
    assert.is(r.code, 0, r.stderr);
    await sleep(1500);
    assert.is(await cfg(), before, 'h1\'s haproxy.cfg is unchanged');
    const warnings = r.events.filter((e) => e.type === 'warning' && e.host === 'h2');
    assert.equal(warnings.map((w) => w.code), ['registry.forged-instance'], JSON.stringify(warnings));
    assert.match(warnings[0].message, /h2 reported 1 registration for other hosts \("h3"\); they are ignored/);
    const view = JSON.parse((await rl.ssh(rl.hosts[0], 'cat /var/lib/berth/registry/fleet.json')).stdout) as { instances: ServiceInstance[] };
    assert.equal(view.instances.map((i) => `${i.host}/${i.id}`).sort(), ['h1/web-1', 'h2/web-1'], 'the forged entry never reached h1\'s fleet view');
  } finally {
    await rl.ssh(rl.hosts[1], `rm -f ${file}`);
  }
});

test('a host whose watcher goes silent loses its registrations when they run out', async () => {
  const watcher = JSON.parse((await rl.ssh(rl.hosts[1], 'cat /var/lib/berth/watcher/watcher.pid')).stdout).pid as number;
  const t0 = Date.now();
  await rl.ssh(rl.hosts[1], `kill -STOP ${watcher}`);
  await until('h2/web-1 to run out', async () => (await local(1)).length === 0, (TTL_S + 3) * 1000);
  figures.push(`watcher frozen -> its registration ran out: ${Date.now() - t0} ms (ttl ${TTL_S}s)`);
  assert.ok(Date.now() - t0 >= (TTL_S * 2000) / 3 - 500, 'not before the expiry could come');
  await rl.ssh(rl.hosts[1], `kill -CONT ${watcher}`);
  await until('h2/web-1 renewed', async () => (await local(1)).includes('h2/web-1'));
});

test('berth services shows both hosts\' instances, whatever the backend', async () => {
  const r = await rl.services(['web', '--json']);
  assert.is(r.code, 0, r.stderr);
  const rows = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
  assert.equal(rows.map((x: any) => [x.inventoryHost, x.id, x.health, x.registered, x.backend]), [
    ['h1', 'web-1', 'healthy', true, 'embedded'],
    ['h2', 'web-1', 'healthy', true, 'embedded'],
  ]);
});

test.run();
