// Health checks without a container engine: the playbook's `health:` as the agent runs it, the
// healthy/unhealthy state machine (Docker's semantics), and the http and tcp probes against real
// sockets on loopback. The probes inside containers (exec, Docker's HEALTHCHECK, the gate with
// its log lines) are covered on lab hosts in health-lab.test.ts.
import http from 'node:http';
import net from 'node:net';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { httpProbe } from '../agent/health/probe-http.js';
import { tcpProbe } from '../agent/health/probe-tcp.js';
import { DEFAULT_HEALTH, describeHealth, normalizeHealth } from '../agent/health/spec.js';
import { HealthTracker } from '../agent/health/tracker.js';

let server: http.Server;
let port = 0;
let slowPort = 0;
const slow = net.createServer(() => {}); // accepts, never answers

test.before(async () => {
  server = http.createServer((req, res) => {
    if (req.url === '/healthz') return void res.end('status: ok\n');
    if (req.url === '/starting') return void res.writeHead(503).end('warming up');
    if (req.url === '/moved') return void res.writeHead(302, { location: '/healthz' }).end();
    if (req.url === '/host') return void res.end(`host=${req.headers.host}`);
    res.writeHead(404).end('nope');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.address() as net.AddressInfo).port;
  await new Promise<void>((r) => slow.listen(0, '127.0.0.1', r));
  slowPort = (slow.address() as net.AddressInfo).port;
});
test.after(() => {
  server.close();
  slow.close();
});

test('normalize: durations become milliseconds, a string exec is a shell line, defaults fill the rest', () => {
  const r = normalizeHealth({ http: { port: 80, path: '/healthz', status: 204, body: 'ok' }, interval: '500ms', timeout: 1, retries: 5, start_period: '1m' });
  assert.ok(r.ok);
  if (!r.ok) return;
  assert.equal(r.value, { docker: true, intervalMs: 500, timeoutMs: 1000, retries: 5, startPeriodMs: 60_000, http: { port: 80, path: '/healthz', status: [204], body: 'ok', host: undefined, scheme: 'http' } });
  const e = normalizeHealth({ exec: 'test -f /ready', tcp: { port: 5432 } });
  assert.ok(e.ok);
  if (e.ok) {
    assert.equal(e.value.exec, ['/bin/sh', '-c', 'test -f /ready']);
    assert.equal(e.value.tcp, { port: 5432 });
    assert.is(e.value.retries, DEFAULT_HEALTH.retries);
    assert.match(describeHealth(e.value), /^tcp :5432 \+ exec \/bin\/sh -c test -f \/ready every 2s, 3 retries$/);
  }
  const none = normalizeHealth(undefined);
  assert.ok(none.ok && !none.value.http && !none.value.exec && none.value.docker, 'no health: running plus the image HEALTHCHECK');
  const bad = normalizeHealth({ interval: 'soon' });
  assert.ok(!bad.ok && /interval: "soon" is not a duration/.test(bad.error.message));
  const zero = normalizeHealth({ retries: 0 });
  assert.ok(zero.ok && zero.value.retries === 1, 'retries 0 still needs one failure');
});

test('tracker: retries consecutive failures turn a healthy instance unhealthy; one success brings it back', () => {
  const t = new HealthTracker({ retries: 3, startPeriodMs: 0 }, 'healthy');
  const fail = { ok: false, output: 'HTTP 500', final: false, state: 'running' };
  assert.is(t.observe(fail, 1000), undefined);
  assert.is(t.observe(fail, 2000), undefined);
  assert.equal(t.observe(fail, 3000), { from: 'healthy', to: 'unhealthy' });
  assert.is(t.unhealthySince, 3000);
  assert.is(t.failures, 3);
  assert.equal(t.observe({ ok: true, output: 'HTTP 200', final: false, state: 'running' }, 4000), { from: 'unhealthy', to: 'healthy' });
  assert.is(t.failures, 0);
  assert.is(t.unhealthySince, undefined);
});

test('tracker: a stopped container is unhealthy at once, whatever the retries', () => {
  const t = new HealthTracker({ retries: 5, startPeriodMs: 0 }, 'healthy');
  assert.equal(t.observe({ ok: false, output: 'container is exited (exit code 137)', final: true, state: 'exited' }), { from: 'healthy', to: 'unhealthy' });
});

test('tracker: failures in the start period do not count; after it, a never-healthy instance is unhealthy', () => {
  const started = 10_000;
  const t = new HealthTracker({ retries: 3, startPeriodMs: 5000 });
  const fail = { ok: false, output: 'refused', final: false, state: 'running', startedAt: started };
  assert.is(t.observe(fail, started + 1000), undefined);
  assert.is(t.status, 'starting');
  assert.is(t.failures, 0);
  assert.equal(t.observe(fail, started + 6000), { from: 'starting', to: 'unhealthy' });
  const u = new HealthTracker({ retries: 3, startPeriodMs: 5000 });
  assert.equal(u.observe({ ...fail, ok: true }, started + 1000), { from: 'starting', to: 'healthy' });
});

test('http probe: status and body decide; the output says what was seen', async () => {
  const spec = (path: string, extra: Partial<{ status: number[]; body: string; host: string }> = {}) => ({ port, path, status: [], scheme: 'http' as const, ...extra });
  const ok = await httpProbe('127.0.0.1', port, spec('/healthz'), 1000);
  assert.equal(ok, { ok: true, output: `GET http://127.0.0.1:${port}/healthz: HTTP 200` });
  const redirect = await httpProbe('127.0.0.1', port, spec('/moved'), 1000);
  assert.ok(redirect.ok, '3xx counts as healthy by default');
  const starting = await httpProbe('127.0.0.1', port, spec('/starting'), 1000);
  assert.is(starting.ok, false);
  assert.match(starting.output, /HTTP 503, expected 2xx\/3xx: warming up$/);
  const wrongBody = await httpProbe('127.0.0.1', port, spec('/healthz', { body: 'ready' }), 1000);
  assert.match(wrongBody.output, /HTTP 200 but the body lacks "ready": status: ok$/);
  const exact = await httpProbe('127.0.0.1', port, spec('/starting', { status: [503] }), 1000);
  assert.ok(exact.ok, 'an expected status list replaces the default');
  const hostHeader = await httpProbe('127.0.0.1', port, spec('/host', { host: 'web.internal', body: 'host=web.internal' }), 1000);
  assert.ok(hostHeader.ok, hostHeader.output);
});

test('http probe: a refused connection and a server that never answers both fail within the timeout', async () => {
  const refused = await httpProbe('127.0.0.1', 1, { port: 1, path: '/', status: [], scheme: 'http' }, 1000);
  assert.match(refused.output, /ECONNREFUSED/);
  const t0 = Date.now();
  const hung = await httpProbe('127.0.0.1', slowPort, { port: slowPort, path: '/', status: [], scheme: 'http' }, 300);
  assert.is(hung.ok, false);
  assert.match(hung.output, /no answer within 300 ms/);
  assert.ok(Date.now() - t0 < 2000);
});

test('tcp probe: connects, or says why not', async () => {
  assert.equal(await tcpProbe('127.0.0.1', port, 1000), { ok: true, output: `tcp 127.0.0.1:${port}: connected` });
  const closed = await tcpProbe('127.0.0.1', 1, 1000);
  assert.is(closed.ok, false);
  assert.match(closed.output, /^tcp 127\.0\.0\.1:1: connect ECONNREFUSED/);
});

test.run();
