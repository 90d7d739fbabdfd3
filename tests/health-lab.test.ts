// Health checks against real containers on a lab host, through the `registration` module (the
// gate, then the watcher): each kind of probe passing and failing, the start period, a container
// that dies before it is healthy (its log lines reach the report), Docker's own HEALTHCHECK
// deciding early, a probe of a container that shares another's network, and a container that
// stays unhealthy being restarted by the watcher.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { registryLab, type RegistryLab } from './registry-lab.js';

let rl: RegistryLab;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const host = () => rl.hosts[0];
const docker = async (args: string) => {
  const r = await rl.ssh(host(), `docker ${args}`);
  if (r.code !== 0) throw new Error(`docker ${args}: ${r.stderr}`);
  return r.stdout;
};

/** One registration task; its task-end event. */
async function register(params: string, name = 'reg') {
  const r = await rl.apply(name, `name: ${name}\nplays:\n  - hosts: all\n    tasks:\n      - registration: ${params}\n`);
  const end = r.ends(host().name).at(-1);
  if (!end) throw new Error(`no task ended: ${r.stderr}`);
  return end;
}
const status = async (id: string) => JSON.parse((await rl.ssh(host(), `cat /var/lib/berth/registry/status/${id}.json`)).stdout || 'null');

test.before(async () => {
  rl = await registryLab('health-lab', 1);
  await rl.apply('reg-setup', `name: reg-setup\nplays:\n  - hosts: all\n    tasks:\n      - registry: { ttl: 5s, host: "{{inventory_hostname}}" }\n`);
  await rl.runWeb(host(), 'web-ok', 8081);
  await rl.runWeb(host(), 'web-bad', 8082, false);
});
test.after(async () => {
  await rl?.down();
});

test('exec probe: runs inside the container; exit 0 passes, anything else fails with its output', async () => {
  const ok = await register('{ container: web-ok, name: exec-ok, port: 80, health: { exec: "test -f /www/healthz && echo present" }, deadline: 10s }');
  assert.is(ok.status, 'changed', ok.message);
  const bad = await register('{ container: web-bad, name: exec-bad, port: 80, health: { exec: ["sh", "-c", "echo missing >&2; test -f /www/healthz"], interval: 500ms }, deadline: 2s }');
  assert.is(bad.status, 'failed');
  assert.match(bad.message, /^web-bad was not healthy within 2(\.\d)? s \(\d+ checks\): exec sh -c echo missing >&2; test -f \/www\/healthz: exit 1: missing/);
});

test('tcp probe: a listening port passes, a closed one fails', async () => {
  assert.is((await register('{ container: web-ok, name: tcp-ok, health: { tcp: { port: 80 } } }')).status, 'changed');
  const bad = await register('{ container: web-ok, name: tcp-bad, port: 80, health: { tcp: { port: 81 }, interval: 500ms }, deadline: 2s }', 'reg-tcp-bad');
  assert.is(bad.status, 'failed');
  assert.match(bad.message, /tcp [\d.]+:81: connect ECONNREFUSED/);
});

test('start period: an instance that becomes healthy after a few seconds passes the gate', async () => {
  await docker(`run -d --name web-slow -p 8083:80 lab/busybox sh -c 'mkdir -p /www; (sleep 3; echo ok > /www/healthz) & exec httpd -f -p 80 -h /www'`);
  const t0 = Date.now();
  const r = await register('{ container: web-slow, name: slow, health: { http: { port: 80, path: /healthz }, interval: 1s, start_period: 10s }, deadline: 30s }');
  assert.is(r.status, 'changed', r.message);
  assert.ok(Date.now() - t0 >= 2500, 'it did wait for the instance');
  assert.is((await status('web-slow')).registered, true);
});

test('a container that exits before it is healthy fails the gate at once, with its last log lines', async () => {
  await docker(`run -d --name crasher lab/busybox sh -c 'echo booting; echo "fatal: no config file" >&2; sleep 1; exit 3'`);
  const t0 = Date.now();
  const r = await register('{ container: crasher, name: crasher, port: 80, health: { http: { port: 80 }, interval: 500ms }, deadline: 60s }');
  assert.is(r.status, 'failed');
  assert.ok(Date.now() - t0 < 30_000, 'not the whole deadline');
  assert.match(r.message, /^crasher stopped before it was healthy: container is exited \(exit code 3\)/);
  // stdout and stderr lines, in the order Docker logged them (not guaranteed between the two streams).
  const logs = r.message.split('last log lines of crasher:\n')[1] ?? '';
  assert.equal(logs.split('\n').map((l: string) => l.trim()).filter(Boolean).sort(), ['booting', 'fatal: no config file'], r.message);
});

test("the image's own Docker HEALTHCHECK gates too, and its 'unhealthy' ends the wait early", async () => {
  const hc = "--health-cmd 'test -f /www/healthz' --health-interval 1s --health-retries 2";
  await docker(`run -d --name hc-ok ${hc} lab/busybox sh -c 'mkdir -p /www; echo ok > /www/healthz; exec httpd -f -p 80 -h /www'`);
  await docker(`run -d --name hc-bad ${hc} lab/busybox sh -c 'mkdir -p /www; exec httpd -f -p 80 -h /www'`);
  const ok = await register('{ container: hc-ok, name: hc, port: 80, deadline: 30s }');
  assert.is(ok.status, 'changed', ok.message);
  const t0 = Date.now();
  const bad = await register('{ container: hc-bad, name: hc, port: 80, deadline: 60s }', 'reg-hc-bad');
  assert.is(bad.status, 'failed');
  assert.match(bad.message, /^hc-bad is unhealthy by its own HEALTHCHECK: docker HEALTHCHECK is unhealthy: exit 1/);
  assert.ok(Date.now() - t0 < 30_000, 'decided by Docker, not by the deadline');
});

test("a container sharing another's network is probed at that container's address and registered at its published port", async () => {
  await docker('run -d --name web-side --network container:web-ok lab/busybox sleep 1d');
  const r = await register('{ container: web-side, name: side, port: 80, health: { http: { port: 80, path: /healthz } } }');
  assert.is(r.status, 'changed', r.message);
  let s = await status('web-side');
  for (let i = 0; i < 40 && !/HTTP 200/.test(s.lastOutput); i++, s = await status('web-side')) await sleep(250);
  const ip = await docker("inspect -f '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}' web-ok");
  assert.equal([s.address, s.port], [host().ip, 8081], 'registered where the namespace it shares publishes port 80');
  assert.match(s.lastOutput, new RegExp(`GET http://${ip.replace(/\./g, '\\.')}:80/healthz: HTTP 200`));
});

test('restart_after: the watcher restarts a container that stays unhealthy, and registers it again once healthy', async () => {
  await rl.runWeb(host(), 'web-flaky', 8084);
  const r = await register('{ container: web-flaky, name: flaky, health: { http: { port: 80, path: /healthz }, interval: 500ms, retries: 2 }, restart_after: 2s }');
  assert.is(r.status, 'changed', r.message);
  const started = await docker("inspect -f '{{.State.StartedAt}}' web-flaky");
  await docker('exec web-flaky rm /www/healthz');
  let s: any;
  for (let i = 0; i < 80; i++) {
    s = await status('web-flaky');
    if (s?.restarts >= 1 && s.registered) break;
    await sleep(250);
  }
  assert.is(s.restarts, 1, JSON.stringify(s));
  assert.is(s.registered, true, 'registered again after the restart made it healthy');
  assert.is.not(await docker("inspect -f '{{.State.StartedAt}}' web-flaky"), started, 'the container was restarted');
  const log = (await rl.ssh(host(), 'cat /var/lib/berth/watcher/watcher.log')).stdout;
  assert.match(log, /web-flaky: healthy -> unhealthy: GET .*HTTP 404/);
  assert.match(log, /web-flaky: unhealthy for \d+ s: restarting the container/);
  assert.match(log, /web-flaky: unhealthy -> healthy/);
});

test.run();
