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

test('syncRegistry: a host is believed only about its own instances, well formed; the rest is ignored with a warning', async () => {
  const pushes: Record<string, ServiceInstance[]> = {};
  const peer = (host: string, r: RegistryReport): RegistryPeer => ({
    host,
    async ask(body) {
      if (body.method === 'registry.fleet') pushes[host] = body.params.instances;
      return { ok: true, result: body.method === 'registry.instances' ? r : { instances: 0 } };
    },
  });
  const mine = inst('h1', 'web-1', '10.0.0.1', 80);
  // h1 speaks for h2 (an instance pointing elsewhere), and for itself with an address that
  // would add a line to any haproxy.cfg it reached.
  const forged = inst('h2', 'web-9', '10.6.6.6', 80);
  const injected = inst('h1', 'web-2', '10.0.0.1:1 check\n  server evil 10.6.6.6', 80);
  const h1 = report('h1', 'embedded', [{ address: '10.0.0.1', port: 80 }, { id: 'web-9', host: 'h2', address: '10.6.6.6', port: 80 }, { id: 'web-2', address: injected.address, port: 80 }], [mine, forged, injected]);
  const h2 = report('h2', 'embedded', [{ address: '10.0.0.2', port: 80 }], [inst('h2', 'web-1', '10.0.0.2', 80)]);
  const out = await syncRegistry([peer('h1', h1), peer('h2', h2)], { inventory: ['h1', 'h2'] });
  assert.equal(pushes.h2.map((i) => `${i.host}/${i.id}`), ['h1/web-1', 'h2/web-1'], 'the forged and the malformed entries are not passed on');
  assert.equal(out.services.web.map((i) => `${i.host}/${i.id}`), ['h1/web-1', 'h2/web-1'], 'nor shown to templates');
  assert.equal(out.warnings.map((w) => [w.host, w.code]), [['h1', 'registry.forged-instance'], ['h1', 'registry.forged-instance'], ['h1', 'registry.bad-instance']]);
  assert.match(out.warnings[0].message, /^h1 reported 1 registration for other hosts \("h2"\); they are ignored/);
  assert.match(out.warnings[2].message, /h1 reported 2 malformed instances, ignored: "web-2": address: "10\.0\.0\.1:1 check\\n  server evil 10\.6\.6\.6" is not an IPv4 or IPv6 address, or a host name/);
});

test('syncRegistry: a host that names itself after another host of the inventory is not believed at all', async () => {
  const liar = report('h2', 'embedded', [{ address: '10.6.6.6', port: 80 }], [inst('h2', 'web-1', '10.6.6.6', 80)]);
  const out = await syncRegistry([{ host: 'h1', ask: async () => ({ ok: true, result: liar }) }], { push: false, inventory: ['h1', 'h2'] });
  assert.is(out.reports[0].report, undefined);
  assert.equal(out.warnings.map((w) => w.code), ['registry.foreign-host']);
  assert.match(out.warnings[0].message, /h1's registry report is ignored: h2 is another host of the inventory/);
  assert.equal(out.services, {});
  // Machines cloned with one hostname that register nothing are not worth a warning on every run.
  const quiet = (host: string): RegistryPeer => ({ host, ask: async () => ({ ok: true, result: report('debian', 'embedded', []) }) });
  const clones = await syncRegistry([quiet('h1'), quiet('h2')], { push: false, inventory: ['h1', 'h2'] });
  assert.equal(clones.warnings, []);
  assert.equal(clones.reports.map((r) => r.report?.host), ['h1', 'h2']);
});

test('syncRegistry: each unreached host is taken from the freshest view that covers it; one view replaces nothing the others know, and a view from the future counts for nothing', async () => {
  const pushes: Record<string, ServiceInstance[]> = {};
  const withView = (host: string, view: unknown): RegistryPeer => ({
    host,
    async ask(body) {
      if (body.method === 'registry.fleet') pushes[host] = body.params.instances;
      return { ok: true, result: body.method === 'registry.instances' ? { ...report(host, 'embedded', []), fleet: view } : { instances: 0 } };
    },
  });
  const now = new Date('2026-11-10T00:00:00.000Z');
  const c3 = inst('h3', 'web-1', '10.0.0.3', 80);
  const c4 = inst('h4', 'web-1', '10.0.0.4', 80);
  const c4new = inst('h4', 'web-2', '10.0.0.4', 81);
  const out = await syncRegistry(
    [
      // h1 knows h3 and h4 as of the 1st; h2 saw h4 (only) again on the 5th; h5's view claims a
      // date after now, with an h3 of its own making.
      withView('h1', { gatheredAt: '2026-11-01T00:00:00.000Z', hosts: ['h1', 'h3', 'h4'], instances: [c3, c4] }),
      withView('h2', { gatheredAt: '2026-11-05T00:00:00.000Z', hosts: ['h2', 'h4'], instances: [c4new] }),
      withView('h5', { gatheredAt: '2999-01-01T00:00:00.000Z', hosts: ['h3'], instances: [inst('h3', 'web-1', '10.6.6.6', 80)] }),
    ],
    { now, inventory: ['h1', 'h2', 'h3', 'h4', 'h5'] },
  );
  assert.equal(pushes.h1.map((i) => `${i.host}/${i.id}@${i.address}`), ['h3/web-1@10.0.0.3', 'h4/web-2@10.0.0.4'], 'h3 from h1\'s view (h2\'s does not cover it), h4 from h2\'s (fresher)');
  assert.equal(out.warnings.map((w) => [w.host, w.code]), [['h5', 'registry.bad-view']]);
  assert.match(out.warnings[0].message, /h5's fleet view is dated "2999-01-01T00:00:00\.000Z", in the future/);
});

test('haproxy config: an instance that is no registry entry is not routed to, and a listener value that is no plain word renders nothing', () => {
  const web = [inst('h1', 'web-1', '10.0.0.1', 8081), inst('h2', 'web-1', '10.0.0.2:1 check\n  server evil 10.6.6.6', 8081), inst('h3', 'web 1', '10.0.0.3', 8081)];
  const r = renderHaproxy(spec(), new Map([['web', web], ['db', []]]));
  const cfg = text(r);
  assert.match(cfg, /server h1_web-1 10\.0\.0\.1:8081 check\n/);
  assert.not.match(cfg, /evil|10\.0\.0\.3/);
  assert.equal(r.ok && r.dropped.map((d) => d.instance), ['"h2"/"web-1"', '"h3"/"web 1"']);
  const bad = renderHaproxy(spec({ listeners: [{ service: 'web', port: 80, bind: '127.0.0.1\n  stats enable', tags: [], mode: 'tcp', balance: 'roundrobin' }] }), new Map([['web', []]]));
  assert.equal(bad, { ok: false, message: 'not rendered: "127.0.0.1\\n  stats enable" is not a plain word (no spaces, quotes or control characters)' });
});

const text = (r: ReturnType<typeof renderHaproxy>): string => {
  if (!r.ok) throw new Error(r.message);
  return r.text;
};

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
  const cfg = text(renderHaproxy(spec(), new Map([['web', web], ['db', []]])));
  assert.match(cfg, /listen db_15432\n  bind 127\.0\.0\.1:15432\n  mode tcp\n  balance leastconn\n  # no healthy instance of db registered\n/);
  assert.match(cfg, /listen web_18080\n  bind 127\.0\.0\.1:18080\n  mode tcp\n  balance roundrobin\n  server h2_web-1 10\.0\.0\.2:8081 check\n  server h1_web-1 10\.0\.0\.1:8081 check\n/);
  assert.not.match(cfg, /web-9/, 'a critical instance gets no traffic');
  assert.ok(cfg.indexOf('listen db_15432') < cfg.indexOf('listen web_18080'), 'listeners sorted by port');
  assert.is(text(renderHaproxy(spec(), new Map([['db', []], ['web', web]]))), cfg, 'the same view renders the same text');
  assert.match(cfg, /default-server inter 2000 fall 2 rise 1/);
});

test('haproxy config: tags select instances; http mode forwards the client address; checks can be off', () => {
  const l = { service: 'web', port: 80, bind: '0.0.0.0', tags: ['v2'], mode: 'http' as const, balance: 'roundrobin' as const };
  const web = [inst('h1', 'a', '10.0.0.1', 1, ['v1']), inst('h2', 'b', 'fd00::2', 2, ['v2', 'canary'])];
  assert.equal(routable(l, web).map((i) => i.id), ['b']);
  const cfg = text(renderHaproxy(spec({ listeners: [l], check: { enabled: false, intervalMs: 0, fall: 1, rise: 1 } }), new Map([['web', web]])));
  assert.match(cfg, /bind 0\.0\.0\.0:80\n  mode http\n  balance roundrobin\n  option forwardfor\n/);
  assert.match(cfg, /server h2_b \[fd00::2\]:2\n/);
  assert.not.match(cfg, /check|default-server/);
});

test('haproxy config: retries 2 with redispatch unless the ambassador says otherwise; retries 0 sends a refused connection to the client', () => {
  const web = [inst('h1', 'web-1', '10.0.0.1', 8081)];
  const dflt = text(renderHaproxy(spec(), new Map([['web', web], ['db', []]])));
  assert.match(dflt, /\n  retries 2\n  option redispatch\n/);
  const none = text(renderHaproxy(spec({ retries: 0 }), new Map([['web', web], ['db', []]])));
  assert.match(none, /\n  retries 0\n/);
  assert.not.match(none, /redispatch/);
  assert.match(text(renderHaproxy(spec({ retries: 5 }), new Map([['web', web], ['db', []]]))), /\n  retries 5\n  option redispatch\n/);
});

test.run();
