// The converge decision as a specification: desired containers against observed ones, into
// operations with causes (Compose's rules). Plain literals in, a plan's lines out; no engine.
// Also the Engine API request a desired container becomes.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createRequest } from '../agent/services/create-options.js';
import { desiredContainers, type Desired } from '../agent/services/desired.js';
import { canonicalJson, configHash } from '../agent/services/hash.js';
import type { Observed } from '../agent/services/observe.js';
import { reconcile, type Op, type ReconcileInput } from '../agent/services/reconcile.js';
import { judge } from '../agent/services/wait.js';
import type { ContainerSpec, ServiceSpec } from '../modules/service-spec.js';
import { containerSpec, serviceSpec } from './helpers/specs.js';

const base: ContainerSpec = containerSpec({ env: { A: '1' } });

const svc = (over: Partial<ServiceSpec> = {}): ServiceSpec => serviceSpec(base, over);
const images = new Map([['lab/busybox', 'sha256:img1']]);

/** What is on the host after a converge of `s` (optionally with a different image id). */
function running(s: ServiceSpec, over: Partial<Observed> = {}, imageId = 'sha256:img1'): Observed[] {
  return desiredContainers(s, new Map([['lab/busybox', imageId]])).map((d, i) => ({
    id: `id-${d.role || 'main'}-${d.replica}`,
    name: d.name,
    playbook: s.playbook,
    service: s.service,
    role: d.role,
    replica: d.replica,
    hash: d.hash,
    keys: d.keys,
    imageId: d.imageId,
    links: '',
    release: 'r1',
    state: 'running',
    oneoff: false,
    job: s.job,
    created: 1000 + i,
    status: 'Up',
    image: 'lab/busybox',
    ports: [],
    ...over,
  }));
}

function plan(s: ServiceSpec, observed: Observed[], extra: Partial<ReconcileInput> = {}): string[] {
  const desired = desiredContainers(s, images);
  return reconcile({ service: s.service, replicas: s.replicas, job: s.job, scheduled: !!s.schedule, desired, observed, otherService: () => undefined, ...extra }).map(line);
}

const line = (op: Op) => {
  const who = 'want' in op ? `${op.want.role || 'web'}.${op.want.replica}` : `${op.old.role || 'web'}.${op.old.replica}`;
  return `${op.kind} ${who}: ${op.cause}`;
};

test('missing containers are created; an unchanged service is left alone', () => {
  const s = svc({ replicas: 2 });
  assert.equal(plan(s, []), ['create web.1: missing', 'create web.2: missing']);
  assert.equal(plan(s, running(s)), []);
});

test('the config hash ignores key order and what must not recreate (replicas, depends_on)', () => {
  const a = configHash({ ...base, env: { A: '1', B: '2' } });
  const b = configHash({ ...base, env: { B: '2', A: '1' } });
  assert.is(a, b);
  assert.is(canonicalJson({ b: 1, a: [2, { d: undefined, c: 3 }] }), '{"a":[2,{"c":3}],"b":1}');
  const s = svc();
  assert.equal(plan({ ...s, dependsOn: [{ service: 'db', condition: 'service_started', required: true, timeoutMs: 1 }] }, running(s)), []);
});

test('a changed spec or image recreates, and says what changed', () => {
  const s = svc();
  const changed = svc({ main: { ...base, env: { A: '2' }, ports: [{ target: 80, protocol: 'tcp', published: '8080' }] } });
  assert.equal(plan(changed, running(s)), ['recreate web.1: config changed: environment, ports']);
  assert.equal(plan(s, running(s, {}, 'sha256:old')), ['recreate web.1: image changed']);
});

test('scale: surplus removed first, highest replica first; then the missing ones created', () => {
  const three = svc({ replicas: 3 });
  assert.equal(plan(svc({ replicas: 1 }), running(three)), ['remove web.3: scale to 1', 'remove web.2: scale to 1']);
  const one = svc({ replicas: 1 });
  assert.equal(plan(svc({ replicas: 2 }), running(one)), ['create web.2: missing']);
});

test('stopped containers are started; a duplicate left by an interrupted recreate is removed', () => {
  const s = svc();
  assert.equal(plan(s, running(s, { state: 'exited', exitCode: 137 })), ['start web.1: not running (exited with 137)']);
  const [c] = running(s);
  const leftover = { ...c, id: 'tmp', name: 'demo-web-1-new-abc', created: 5000 };
  assert.equal(plan(s, [c, leftover]), ['remove web.1: duplicate of web.1']);
});

test('sidecars: replaced with the container whose namespace they share, removed before it and created after it', () => {
  const side = (spec: Partial<ContainerSpec>) => ({ ...base, network: { mode: 'networks' as const, networks: [] }, ...spec });
  const s = svc({
    sidecars: [
      { name: 'logs', spec: side({ volumesFrom: [{ ref: { kind: 'service', service: 'web', sameReplica: true }, readOnly: true }] }) },
      { name: 'probe', spec: side({ network: { mode: 'ref', ref: { kind: 'service', service: 'web', sameReplica: true } } }) },
    ],
  });
  const now = running(s).map((o) => (o.role ? { ...o, links: o.role === 'logs' ? 'volumes=id-main-1' : 'network=id-main-1' } : o));
  assert.equal(plan(s, now), [], 'links resolve to the current container: nothing to do');
  const changed = { ...s, main: { ...base, env: { A: 'new' } } };
  assert.equal(plan(changed, now), [
    'remove probe.1: web.1 is replaced (shares its network namespace)',
    'recreate web.1: config changed: environment',
    'recreate logs.1: web.1 is replaced (shares its volumes)',
    'create probe.1: web.1 is replaced (shares its network namespace)',
  ]);
  const dropped = { ...s, sidecars: s.sidecars.slice(0, 1) };
  assert.equal(plan(dropped, now), ['remove probe.1: sidecar probe is no longer in the playbook']);
  const elsewhere = now.map((o) => (o.role === 'logs' ? { ...o, links: 'volumes=someoldid' } : o));
  assert.equal(plan(s, elsewhere), ['recreate logs.1: a container it shares namespaces or volumes with was replaced']);
});

test('jobs: run when missing or changed, again after a failure, not again after success', () => {
  const job = svc({ service: 'migrate', job: true });
  assert.equal(plan(job, []), ['create web.1: missing']);
  const ops = reconcile({ service: 'migrate', replicas: 1, job: true, scheduled: false, desired: desiredContainers(job, images), observed: [], otherService: () => undefined });
  assert.ok(ops[0].kind === 'create' && ops[0].wait && ops[0].start);
  assert.equal(plan(job, running(job, { state: 'exited', exitCode: 0 })), []);
  assert.equal(plan(job, running(job, { state: 'exited', exitCode: 2 })), ['start web.1: last run failed (exit 2)']);
  assert.equal(plan(job, running(job, { state: 'running' })), [], 'a run in progress is left to finish');
  const withSidecar = svc({ service: 'migrate', job: true, sidecars: [{ name: 'ship', spec: base }] });
  const both = reconcile({ service: 'migrate', replicas: 1, job: true, scheduled: false, desired: desiredContainers(withSidecar, images), observed: [], otherService: () => undefined });
  assert.equal(both.map((o) => o.kind === 'create' && `${o.want.role || 'main'} wait=${o.wait}`), ['main wait=true', 'ship wait=false'], 'only the job itself is waited for');
  const scheduled = reconcile({ service: 'nightly', replicas: 1, job: true, scheduled: true, desired: desiredContainers(job, images), observed: [], otherService: () => undefined });
  assert.ok(scheduled[0].kind === 'create' && !scheduled[0].start, 'a scheduled job is prepared, not run');
});

test('replicas of a fixed host port publish consecutive ports; ranges are left to Docker', () => {
  const s = svc({ replicas: 3, main: { ...base, ports: [{ target: 80, protocol: 'tcp', published: '8080' }, { target: 81, protocol: 'tcp', published: '9000-9009' }] } });
  const d = desiredContainers(s, images);
  assert.equal(d.map((x) => x.spec.ports.map((p) => p.published).join(',')), ['8080,9000-9009', '8081,9000-9009', '8082,9000-9009']);
  assert.is.not(d[0].hash, d[1].hash);
});

test('depends_on conditions, from the dependency\'s containers', () => {
  const dep = (condition: 'service_started' | 'service_healthy' | 'service_completed_successfully') => ({ service: 'db', condition, required: true, timeoutMs: 1 });
  const c = (over: Partial<Observed>) => ({ ...running(svc({ service: 'db' }))[0], ...over });
  assert.equal(judge(dep('service_started'), [c({})]), { state: 'ready' });
  assert.equal(judge(dep('service_started'), []), { state: 'failed', why: 'db has no containers on this host' });
  assert.equal(judge(dep('service_healthy'), [c({ health: 'starting' })]).state, 'waiting');
  assert.equal(judge(dep('service_healthy'), [c({ health: 'healthy' })]), { state: 'ready' });
  assert.match((judge(dep('service_healthy'), [c({})]) as { why: string }).why, /no healthcheck/);
  assert.equal(judge(dep('service_healthy'), [c({ health: 'unhealthy' })]).state, 'failed');
  assert.equal(judge(dep('service_completed_successfully'), [c({ state: 'exited', exitCode: 0 })]), { state: 'ready' });
  assert.match((judge(dep('service_completed_successfully'), [c({ state: 'exited', exitCode: 3 })]) as { why: string }).why, /exited with 3/);
  assert.equal(judge(dep('service_completed_successfully'), [c({})]).state, 'waiting');
});

test('the Engine API request of a container: every key where Docker expects it', () => {
  const spec: ContainerSpec = {
    ...base,
    command: ['httpd', '-f'],
    user: '1000',
    hostname: 'web',
    ports: [{ target: 80, protocol: 'tcp', published: '8080', hostIp: '127.0.0.1' }, { target: 53, protocol: 'udp' }],
    expose: [{ port: 9000, protocol: 'tcp' }],
    mounts: [
      { type: 'volume', source: 'demo_data', target: '/data' },
      { type: 'bind', source: '/etc/app', target: '/app', readOnly: true, createHostPath: true },
      { type: 'volume', target: '/cache' },
      { type: 'tmpfs', target: '/scratch', tmpfsSize: 1024 },
    ],
    network: { mode: 'networks', networks: [{ name: 'demo_back', aliases: ['web', 'api'], ipv4: '172.20.0.5' }, { name: 'demo_front', aliases: ['web'] }] },
    readOnly: true,
    tmpfs: { '/tmp': 'size=1m' },
    capDrop: ['ALL'],
    securityOpt: ['no-new-privileges:true'],
    memory: 1024,
    nanoCpus: 5e8,
    pidsLimit: 10,
    ulimits: [{ name: 'nofile', soft: 1, hard: 2 }],
    restart: { name: 'on-failure', maxRetries: 3 },
    logging: { driver: 'json-file', options: { 'max-size': '1m' } },
    healthcheck: { test: ['CMD', 'true'], intervalMs: 2000, retries: 3 },
    stopSignal: 'SIGQUIT',
    stopGraceMs: 1500,
    extraHosts: ['db:10.0.0.5'],
    init: true,
  };
  const [want] = desiredContainers(svc({ main: spec }), images) as Desired[];
  const { body, connect } = createRequest(want, { name: 'demo-web-1', labels: { 'berth.service': 'web' }, idOf: () => 'x', inherit: new Map([['/cache', 'anon123']]) });
  const h = body.HostConfig as Record<string, unknown>;
  assert.equal(body.ExposedPorts, { '80/tcp': {}, '53/udp': {}, '9000/tcp': {} });
  assert.equal(h.PortBindings, { '80/tcp': [{ HostIp: '127.0.0.1', HostPort: '8080' }], '53/udp': [{ HostIp: '', HostPort: '' }] });
  assert.equal(h.Binds, ['/etc/app:/app:ro']);
  assert.equal(h.Mounts, [
    { Type: 'volume', Target: '/data', ReadOnly: false, Source: 'demo_data' },
    { Type: 'volume', Target: '/cache', ReadOnly: false, Source: 'anon123' },
    { Type: 'tmpfs', Target: '/scratch', ReadOnly: false, TmpfsOptions: { SizeBytes: 1024 } },
  ]);
  assert.is(h.NetworkMode, 'demo_back');
  assert.equal(body.NetworkingConfig, { EndpointsConfig: { demo_back: { Aliases: ['web', 'api'], IPAMConfig: { IPv4Address: '172.20.0.5' } } } });
  assert.equal(connect, [{ network: 'demo_front', endpoint: { Aliases: ['web'] } }]);
  assert.equal([h.ReadonlyRootfs, h.Tmpfs, h.CapDrop, h.SecurityOpt, h.Memory, h.NanoCpus, h.PidsLimit, h.Init], [true, { '/tmp': 'size=1m' }, ['ALL'], ['no-new-privileges:true'], 1024, 5e8, 10, true]);
  assert.equal(h.RestartPolicy, { Name: 'on-failure', MaximumRetryCount: 3 });
  assert.equal(h.LogConfig, { Type: 'json-file', Config: { 'max-size': '1m' } });
  assert.equal(body.Healthcheck, { Test: ['CMD', 'true'], Interval: 2e9, Retries: 3 });
  assert.equal([body.StopSignal, body.StopTimeout, body.User, body.Hostname, body.Env], ['SIGQUIT', 2, '1000', 'web', ['A=1']]);
  assert.equal(body.Labels, { 'berth.service': 'web' });

  const shared = createRequest({ ...want, spec: { ...spec, hostname: 'x', network: { mode: 'ref', ref: { kind: 'service', service: 'web', sameReplica: true } }, volumesFrom: [{ ref: { kind: 'container', name: 'c' }, readOnly: true }] } }, { name: 'n', labels: {}, idOf: (r) => (r.kind === 'container' ? r.name : 'abc') });
  assert.is((shared.body.HostConfig as Record<string, unknown>).NetworkMode, 'container:abc');
  assert.equal((shared.body.HostConfig as Record<string, unknown>).VolumesFrom, ['c:ro']);
  assert.is(shared.body.Hostname, undefined, 'a shared network namespace brings its host name');
});

test.run();
