// Discovery without hosts: the template helpers that list healthy instances, the haproxy config
// an ambassador renders from the registry, and the controller's registry sync (reports in,
// fleet view out) against fake hosts.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { renderHaproxy, routable } from '../agent/ambassador/render.js';
import type { AmbassadorSpec } from '../agent/ambassador/spec.js';
import { syncRegistry, type RegistryPeer } from '../controller/run/registry-sync.js';
import { fleetServices } from '../lang/discovery-helpers.js';
import { renderString } from '../lang/templates.js';
import type { InstanceReport, RegistryReport, ServiceInstance } from '../protocol/agent-protocol.js';

const inst = (host: string, id: string, address: string, port: number, tags: string[] = [], health: ServiceInstance['health'] = 'passing'): ServiceInstance => ({
  id,
  service: 'web',
  host,
  address,
  port,
  tags,
  release: 'r1',
  health,
  registeredAt: '2026-01-01T00:00:00Z',
});

const berth_services = {
  web: [inst('h1', 'web-1', '10.0.0.1', 8081, ['v1']), inst('h2', 'web-1', '10.0.0.2', 8081, ['v2']), inst('h2', 'web-2', 'fd00::2', 8082, ['v2'])],
  db: [inst('h3', 'db-1', '10.0.0.3', 5432)],
};

test('service_instances lists healthy instances, filtered by tag or host', () => {
  const t = '{{#each (service_instances "web" tag="v2")}}server {{host}}-{{id}} {{address}}:{{port}};\n{{/each}}';
  assert.is(renderString(t, { berth_services }), 'server h2-web-1 10.0.0.2:8081;\nserver h2-web-2 fd00::2:8082;\n');
  assert.is(renderString('{{length (service_instances "web" host="h1")}}', { berth_services }), '1');
  assert.is(renderString('{{length (service_instances "cache")}}', { berth_services }), '0', 'an unknown service has no instances');
});

test('service_addresses gives address:port (IPv6 bracketed), ready for join', () => {
  assert.is(renderString('peers={{join (service_addresses "web") ","}}', { berth_services }), 'peers=10.0.0.1:8081,10.0.0.2:8081,[fd00::2]:8082');
  assert.is(renderString('{{join (service_hosts "web") " "}}', { berth_services }), 'h1 h2');
});

test('outside a run (no berth_services) the helpers fail with a message, not an empty list', () => {
  assert.throws(() => renderString('{{service_instances "web"}}', {}), /service_instances: the registry is not known here/);
  assert.throws(() => renderString('{{service_instances}}', { berth_services }), /expected a service name/);
});

const report = (host: string, backend: RegistryReport['backend'], instances: Partial<InstanceReport>[], local: ServiceInstance[] = []): RegistryReport => ({
  backend,
  host,
  watcher: { pid: 1, agentSha256: 'x', current: true },
  instances: instances.map((i) => ({ id: 'web-1', service: 'web', host, container: 'web-1', release: 'r1', tags: [], health: 'healthy', registered: true, lastOutput: '', failures: 0, restarts: 0, backend, ...i })),
  local,
});

test('fleetServices keeps registered healthy instances with an address, sorted by host', () => {
  const m = fleetServices([
    report('h2', 'etcd', [{ address: '10.0.0.2', port: 80, registeredAt: 't' }]),
    report('h1', 'etcd', [{ address: '10.0.0.1', port: 80 }, { id: 'web-2', health: 'unhealthy', registered: false, address: '10.0.0.1', port: 81 }]),
  ]);
  assert.equal(m.web.map((i) => `${i.host}/${i.id}`), ['h1/web-1', 'h2/web-1']);
});

test('syncRegistry: gathers every host, pushes the embedded fleet view to embedded hosts only, survives a host that fails', async () => {
  const pushes: Record<string, unknown> = {};
  const peer = (host: string, r: RegistryReport | 'down'): RegistryPeer => ({
    host,
    async ask(body) {
      if (r === 'down') return { ok: false, error: { code: 'ssh', message: 'unreachable' } };
      if (body.method === 'registry.fleet') pushes[host] = body.params.instances;
      return { ok: true, result: body.method === 'registry.instances' ? r : { instances: 0 } };
    },
  });
  const a = inst('h1', 'web-1', '10.0.0.1', 80);
  const b = inst('h2', 'web-1', '10.0.0.2', 80);
  const out = await syncRegistry([
    peer('h1', report('h1', 'embedded', [{ address: '10.0.0.1', port: 80 }], [a])),
    peer('h2', report('h2', 'embedded', [{ address: '10.0.0.2', port: 80 }], [b])),
    peer('h3', report('h3', 'etcd', [])),
    peer('h4', 'down'),
  ]);
  assert.equal(out.pushed, ['h1', 'h2']);
  assert.equal(pushes.h1, [a, b], 'every embedded host gets the whole view (it ignores its own entries)');
  assert.is(pushes.h3, undefined);
  assert.equal(out.reports.find((r) => r.host === 'h4')?.error?.message, 'unreachable');
  assert.equal(out.services.web.map((i) => i.host), ['h1', 'h2']);
});

test('syncRegistry: a run that reaches some hosts keeps what the freshest view knew of the others, and drops hosts gone from the inventory', async () => {
  const pushes: Record<string, ServiceInstance[]> = {};
  const a = inst('h1', 'web-1', '10.0.0.1', 80);
  const b = inst('h2', 'web-1', '10.0.0.2', 80);
  const gone = inst('h9', 'web-1', '10.0.0.9', 80);
  const staleA = inst('h1', 'web-old', '10.0.0.1', 81);
  const withView = (host: string, local: ServiceInstance[], view: { gatheredAt: string; instances: ServiceInstance[] }): RegistryPeer => ({
    host,
    async ask(body) {
      if (body.method === 'registry.fleet') pushes[host] = body.params.instances;
      return { ok: true, result: body.method === 'registry.instances' ? { ...report(host, 'embedded', local.map((i) => ({ id: i.id, address: i.address, port: i.port })), local), fleet: view } : { instances: 0 } };
    },
  });
  // --limit h1,h3: h1's own view (older) and h3's (newer) both know h2; the newer one wins.
  const out = await syncRegistry(
    [
      withView('h1', [a], { gatheredAt: '2026-11-01T00:00:00.000Z', instances: [staleA, inst('h2', 'web-0', '10.0.0.2', 79)] }),
      withView('h3', [], { gatheredAt: '2026-11-02T00:00:00.000Z', instances: [staleA, b, gone] }),
    ],
    { inventory: ['h1', 'h2', 'h3'] },
  );
  assert.equal(pushes.h1, [a, b], 'h1 as it is now (web-old is gone), h2 as last known, h9 dropped: no longer in the inventory');
  assert.equal(out.services.web.map((i) => `${i.host}/${i.id}`), ['h1/web-1', 'h2/web-1'], 'templates see the same');
});

const spec = (over: Partial<AmbassadorSpec> = {}): AmbassadorSpec => ({
  name: 'default',
  listeners: [
    { service: 'web', port: 18080, bind: '127.0.0.1', tags: [], mode: 'tcp', balance: 'roundrobin' },
    { service: 'db', port: 15432, bind: '127.0.0.1', tags: [], mode: 'tcp', balance: 'leastconn' },
  ],
  network: { mode: 'host' },
  check: { enabled: true, intervalMs: 2000, fall: 2, rise: 1 },
  image: 'berth/ambassador:x',
  ...over,
});

test('haproxy config: one listen section per service, a server per healthy instance, in a stable order', () => {
  const web = [inst('h2', 'web-1', '10.0.0.2', 8081), inst('h1', 'web-1', '10.0.0.1', 8081), inst('h1', 'web-9', '10.0.0.1', 8089, [], 'critical')];
  const text = renderHaproxy(spec(), new Map([['web', web], ['db', []]]));
  assert.match(text, /listen db_15432\n  bind 127\.0\.0\.1:15432\n  mode tcp\n  balance leastconn\n  # no healthy instance of db registered\n/);
  assert.match(text, /listen web_18080\n  bind 127\.0\.0\.1:18080\n  mode tcp\n  balance roundrobin\n  server h2_web-1 10\.0\.0\.2:8081 check\n  server h1_web-1 10\.0\.0\.1:8081 check\n/);
  assert.not.match(text, /web-9/, 'a critical instance gets no traffic');
  assert.ok(text.indexOf('listen db_15432') < text.indexOf('listen web_18080'), 'listeners sorted by port');
  assert.is(renderHaproxy(spec(), new Map([['db', []], ['web', web]])), text, 'the same view renders the same text');
  assert.match(text, /default-server inter 2000 fall 2 rise 1/);
});

test('haproxy config: tags select instances; http mode forwards the client address; checks can be off', () => {
  const l = { service: 'web', port: 80, bind: '0.0.0.0', tags: ['v2'], mode: 'http' as const, balance: 'roundrobin' as const };
  const web = [inst('h1', 'a', '10.0.0.1', 1, ['v1']), inst('h2', 'b', 'fd00::2', 2, ['v2', 'canary'])];
  assert.equal(routable(l, web).map((i) => i.id), ['b']);
  const text = renderHaproxy(spec({ listeners: [l], check: { enabled: false, intervalMs: 0, fall: 1, rise: 1 } }), new Map([['web', web]]));
  assert.match(text, /bind 0\.0\.0\.0:80\n  mode http\n  balance roundrobin\n  option forwardfor\n/);
  assert.match(text, /server h2_b \[fd00::2\]:2\n/);
  assert.not.match(text, /check|default-server/);
});

test.run();
