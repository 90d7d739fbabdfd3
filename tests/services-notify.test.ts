// `on_notify: recreate` as a decision (reconcile's `replace` mode): exactly the notified
// containers are replaced, with whatever shares their namespaces or volumes, in the converger's
// order, and nothing else is converged. Plain literals, no engine; the lab side is in
// tests/services-schedule.test.ts.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { desiredContainers } from '../agent/services/desired.js';
import type { Observed } from '../agent/services/observe.js';
import { reconcile, type Op } from '../agent/services/reconcile.js';
import type { ContainerSpec, ServiceSpec } from '../modules/service-spec.js';
import { containerSpec, serviceSpec } from './helpers/specs.js';

const base: ContainerSpec = containerSpec({ mounts: [{ type: 'volume', source: 'demo_data', target: '/data' }] });
const side = (spec: Partial<ContainerSpec>): ContainerSpec => ({ ...base, mounts: [], network: { mode: 'networks', networks: [] }, ...spec });
const images = new Map([['lab/busybox', 'sha256:img1']]);

const svc = (over: Partial<ServiceSpec> = {}): ServiceSpec => serviceSpec(base, over);

function onHost(s: ServiceSpec, over: (o: Observed) => Partial<Observed> = () => ({})): Observed[] {
  return desiredContainers(s, images).map((d, i) => {
    const o: Observed = {
      id: `id-${d.role || 'main'}-${d.replica}`,
      name: d.name,
      playbook: s.playbook,
      service: s.service,
      role: d.role,
      replica: d.replica,
      hash: d.hash,
      keys: d.keys,
      imageId: d.imageId,
      links: d.role === 'probe' ? `network=id-main-${d.replica}` : '',
      release: 'r1',
      state: 'running',
      oneoff: false,
      job: s.job,
      created: 1000 + i,
      status: 'Up',
      image: 'lab/busybox',
      ports: [],
    };
    return { ...o, ...over(o) };
  });
}

function replace(s: ServiceSpec, observed: Observed[], ids: string[]): string[] {
  const ops = reconcile({ service: s.service, replicas: s.replicas, job: s.job, scheduled: false, desired: desiredContainers(s, images), observed, otherService: () => undefined, replace: { ids: new Set(ids), cause: 'notified' } });
  return ops.map(line);
}

const line = (op: Op) => {
  const who = 'want' in op ? `${op.want.role || 'web'}.${op.want.replica}` : `${op.old.role || 'web'}.${op.old.replica}`;
  const start = op.kind === 'recreate' || op.kind === 'create' ? (op.start ? '' : ' (not started)') : '';
  return `${op.kind} ${who}: ${op.cause}${start}`;
};

test('the notified containers are recreated from the same spec; others are left alone', () => {
  const s = svc({ replicas: 3 });
  const now = onHost(s);
  assert.equal(replace(s, now, ['id-main-1', 'id-main-3']), ['recreate web.1: notified', 'recreate web.3: notified']);
  assert.equal(replace(s, now, []), [], 'nothing notified, nothing done');
});

test('a sidecar in the network namespace of a recreated container goes before it and comes back after it', () => {
  const s = svc({ sidecars: [{ name: 'probe', spec: side({ network: { mode: 'ref', ref: { kind: 'service', service: 'web', sameReplica: true } } }) }] });
  assert.equal(replace(s, onHost(s), ['id-main-1']), ['remove probe.1: web.1 is replaced (shares its network namespace)', 'recreate web.1: notified', 'create probe.1: web.1 is replaced (shares its network namespace)']);
});

test('a notify converges nothing else: no scaling, no starting, no catching up with a changed spec', () => {
  const s = svc({ replicas: 2 });
  const now = onHost(svc({ replicas: 3 }), (o) => (o.replica === 2 ? { state: 'exited' } : {}));
  assert.equal(replace(s, now, ['id-main-1']), ['recreate web.1: notified'], 'the surplus web.3 and the stopped web.2 wait for the converge');
  const changed = svc({ main: { ...base, env: { A: 'new' } } });
  assert.equal(replace(changed, onHost(svc()), []), [], 'a different spec alone is not a notify');
});

test('a stopped container that is recreated stays stopped', () => {
  const s = svc();
  assert.equal(replace(s, onHost(s, () => ({ state: 'exited' })), ['id-main-1']), ['recreate web.1: notified (not started)']);
});

test.run();
