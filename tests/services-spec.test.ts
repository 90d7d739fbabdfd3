// How a Compose-style service becomes the normalised spec the agent converges: every short form
// of ports, volumes, environment and friends; references between services and sidecars; the
// dependency order; a Compose file imported with `compose:`. Pure controller code, no hosts.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { loadCompose } from '../controller/compose/load.js';
import { normalizeContainer, type ContainerContext, type ContainerInput } from '../controller/services/container.js';
import { parseEnvFile } from '../controller/services/env.js';
import { parsePort } from '../controller/services/ports.js';
import { projectName } from '../controller/services/project.js';
import { dependencyOrder, normalizeService, type NormalizedService } from '../controller/services/service.js';
import { parseBytes } from '../controller/services/units.js';
import { parseVolume } from '../controller/services/volumes.js';
import type { Service } from '../schema/service.js';

const fixtures = new URL('./fixtures/compose/', import.meta.url).pathname;
const q = (n: string) => `demo_${n}`;
const ctx: ContainerContext = { baseDir: fixtures, qualify: q, ref: (n) => (n === 'db' ? { kind: 'service', service: 'db', sameReplica: false } : `"${n}" is not a service`), aliases: ['web'] };
const spec = (c: ContainerInput) => {
  const r = normalizeContainer(c, ctx);
  if (!r.ok) throw new Error(r.problem.message);
  return r.spec;
};
const svcCtx = { project: 'demo', baseDir: fixtures, services: new Set(['web', 'db', 'backup']), defaultWaitMs: 60_000 };
const service = (name: string, s: Service): NormalizedService => {
  const r = normalizeService(name, s, svcCtx);
  if (!r.ok) throw new Error(r.problem.message);
  return r.value;
};

test('ports: every short form and the long form', () => {
  const p = (x: Parameters<typeof parsePort>[0]) => {
    const r = parsePort(x);
    return r.ok ? r.value : r.message;
  };
  assert.equal(p(80), [{ target: 80, protocol: 'tcp' }]);
  assert.equal(p('80'), [{ target: 80, protocol: 'tcp' }]);
  assert.equal(p('8080:80'), [{ target: 80, published: '8080', protocol: 'tcp' }]);
  assert.equal(p('127.0.0.1:8080:80'), [{ target: 80, published: '8080', protocol: 'tcp', hostIp: '127.0.0.1' }]);
  assert.equal(p('127.0.0.1::80'), [{ target: 80, protocol: 'tcp', hostIp: '127.0.0.1' }]);
  assert.equal(p('[::1]:8080:80'), [{ target: 80, published: '8080', protocol: 'tcp', hostIp: '::1' }]);
  assert.equal(p('53:53/udp'), [{ target: 53, published: '53', protocol: 'udp' }]);
  assert.equal(p('8000-8001:9000-9001'), [
    { target: 9000, published: '8000', protocol: 'tcp' },
    { target: 9001, published: '8001', protocol: 'tcp' },
  ]);
  assert.equal(p('9000-9010:80'), [{ target: 80, published: '9000-9010', protocol: 'tcp' }], 'a host range for one port: any free port of it');
  assert.equal(p({ target: 80, published: '8080', host_ip: '10.0.0.1', protocol: 'udp' }), [{ target: 80, protocol: 'udp', published: '8080', hostIp: '10.0.0.1' }]);
  assert.match(String(p('8000-8002:80-81')), /host range has 3 ports and the container range 2/);
  assert.match(String(p('80/icmp')), /unknown protocol "icmp"/);
});

test('volumes: named (qualified), bind, anonymous, read-only, long forms; relative bind paths are refused', () => {
  const v = (x: Parameters<typeof parseVolume>[0]) => {
    const r = parseVolume(x, q);
    return r.ok ? r.value : r.message;
  };
  assert.equal(v('data:/var/lib/data'), { type: 'volume', source: 'demo_data', target: '/var/lib/data' });
  assert.equal(v('data:/var/lib/data:ro'), { type: 'volume', source: 'demo_data', target: '/var/lib/data', readOnly: true });
  assert.equal(v('/etc/app:/app:ro'), { type: 'bind', source: '/etc/app', target: '/app', readOnly: true, createHostPath: true });
  assert.equal(v('/cache'), { type: 'volume', target: '/cache' });
  assert.equal(v('/cache:ro'), { type: 'volume', target: '/cache', readOnly: true });
  assert.equal(v({ type: 'tmpfs', target: '/tmp', tmpfs: { size: '16m' } }), { type: 'tmpfs', target: '/tmp', tmpfsSize: 16 * 1024 * 1024 });
  assert.equal(v({ type: 'volume', source: 'web', target: '/w', read_only: true, volume: { nocopy: true } }), { type: 'volume', source: 'demo_web', target: '/w', readOnly: true, nocopy: true });
  assert.equal(v({ type: 'bind', source: '/srv', target: '/srv', bind: { propagation: 'rshared', create_host_path: false } }), { type: 'bind', source: '/srv', target: '/srv', createHostPath: false, propagation: 'rshared' });
  assert.match(String(v('./data:/data')), /relative, but bind mounts name a path on the host/);
  assert.match(String(v('data:/d:bogus')), /unknown mode "bogus"/);
});

test('environment: env_file first, then environment; quotes, comments, export, values from the controller', () => {
  process.env.FROM_HOST = 'controller';
  const s = spec({ image: 'x', env_file: 'app.env', environment: { OVERRIDDEN: 'env', NUM: 3, FLAG: true, EMPTY: null, UNSET_ON_HOST: null } });
  delete process.env.FROM_HOST;
  assert.equal(s.env, { FROM_FILE: 'file', OVERRIDDEN: 'env', QUOTED: 'a "b"\nc', SINGLE: 'x # y', PLAIN: 'value', FROM_HOST: 'controller', NUM: '3', FLAG: 'true' });
  assert.equal(spec({ image: 'x', environment: ['A=1', 'B=x=y'] }).env, { A: '1', B: 'x=y' });
  const missing = normalizeContainer({ image: 'x', env_file: 'nope.env' }, ctx);
  assert.ok(!missing.ok && /env_file nope\.env: no such file/.test(missing.problem.message));
  const bad = parseEnvFile('GOOD=1\nnot a line\n');
  assert.ok(!bad.ok && bad.line === 2);
});

test('command and entrypoint: a string is split like a shell would; operators need a list', () => {
  assert.equal(spec({ image: 'x', command: 'httpd -f -p 80 -h "/my www"' }).command, ['httpd', '-f', '-p', '80', '-h', '/my www']);
  assert.equal(spec({ image: 'x', entrypoint: ['/bin/sh', '-c'] }).entrypoint, ['/bin/sh', '-c']);
  assert.equal(spec({ image: 'x', command: 'echo $HOME' }).command, ['echo', '$HOME'], 'variables are left for the container');
  const r = normalizeContainer({ image: 'x', command: 'a | b' }, ctx);
  assert.ok(!r.ok && /shell operators/.test(r.problem.message) && /\[sh, -c/.test(r.problem.hint ?? ''));
});

test('everything docker run can say, in Docker units', () => {
  const s = spec({
    image: 'lab/busybox',
    working_dir: '/app',
    user: '1000:1000',
    hostname: 'web',
    read_only: true,
    tmpfs: ['/run', '/tmp:size=64m'],
    cap_add: ['NET_BIND_SERVICE'],
    cap_drop: ['ALL'],
    security_opt: ['no-new-privileges:true'],
    mem_limit: '64m',
    cpu_shares: 512,
    cpus: 0.5,
    pids_limit: 100,
    shm_size: '1g',
    ulimits: { nofile: { soft: 1024, hard: 2048 }, nproc: 64 },
    restart: 'on-failure:3',
    logging: { driver: 'json-file', options: { 'max-size': '10m', 'max-file': 3 } },
    labels: ['team=web'],
    healthcheck: { test: 'wget -q localhost', interval: '2s', timeout: '1s', retries: 3, start_period: '500ms' },
    stop_signal: 'QUIT',
    stop_grace_period: '1m30s',
    extra_hosts: ['metadata:169.254.169.254', 'db=10.0.0.5'],
    init: true,
    expose: [9000, '53/udp'],
    devices: ['/dev/fuse'],
    sysctls: { 'net.core.somaxconn': 1024 },
  });
  assert.equal(
    [s.workingDir, s.user, s.hostname, s.readOnly, s.tmpfs, s.capAdd, s.capDrop, s.securityOpt],
    ['/app', '1000:1000', 'web', true, { '/run': '', '/tmp': 'size=64m' }, ['NET_BIND_SERVICE'], ['ALL'], ['no-new-privileges:true']],
  );
  assert.equal([s.memory, s.cpuShares, s.nanoCpus, s.pidsLimit, s.shmSize], [64 * 1024 ** 2, 512, 500_000_000, 100, 1024 ** 3]);
  assert.equal(s.ulimits, [
    { name: 'nofile', soft: 1024, hard: 2048 },
    { name: 'nproc', soft: 64, hard: 64 },
  ]);
  assert.equal(s.restart, { name: 'on-failure', maxRetries: 3 });
  assert.equal(s.logging, { driver: 'json-file', options: { 'max-size': '10m', 'max-file': '3' } });
  assert.equal(s.labels, { team: 'web' });
  assert.equal(s.healthcheck, { test: ['CMD-SHELL', 'wget -q localhost'], intervalMs: 2000, timeoutMs: 1000, retries: 3, startPeriodMs: 500 });
  assert.equal([s.stopSignal, s.stopGraceMs], ['SIGQUIT', 90_000]);
  assert.equal(s.extraHosts, ['metadata:169.254.169.254', 'db:10.0.0.5']);
  assert.equal(s.expose, [
    { port: 9000, protocol: 'tcp' },
    { port: 53, protocol: 'udp' },
  ]);
  assert.equal(s.devices, [{ host: '/dev/fuse', container: '/dev/fuse', permissions: 'rwm' }]);
  assert.equal(s.sysctls, { 'net.core.somaxconn': '1024' });
  assert.is(s.init, true);
  assert.equal(s.network, { mode: 'networks', networks: [{ name: 'demo_default', aliases: ['web'] }] }, 'the playbook\'s default network, reachable by service name');
});

test('resources: berth\'s block wins over Compose\'s keys, which win over deploy limits', () => {
  const s = spec({ image: 'x', resources: { memory: '32m', cpus: 0.25 }, mem_limit: '64m', cpus: 1, deploy: { resources: { limits: { memory: '128m', pids: 10 }, reservations: { memory: '8m' } } } });
  assert.equal([s.memory, s.nanoCpus, s.pidsLimit, s.memoryReservation], [32 * 1024 ** 2, 250_000_000, 10, 8 * 1024 ** 2]);
  assert.equal(spec({ image: 'x', deploy: { restart_policy: { condition: 'any' } } }).restart, { name: 'always' });
  assert.equal(spec({ image: 'x', healthcheck: { disable: true } }).healthcheck, { test: ['NONE'] });
  assert.equal([parseBytes('1.5gb'), parseBytes('512k'), parseBytes(100), parseBytes('64Mi')], [1.5 * 1024 ** 3, 512 * 1024, 100, undefined]);
});

test('networks with aliases and addresses; network_mode, pid and ipc pointing at services and containers', () => {
  const s = spec({ image: 'x', networks: { back: { aliases: ['cache'], ipv4_address: '172.20.0.5' }, front: null } });
  assert.equal(s.network, {
    mode: 'networks',
    networks: [
      { name: 'demo_back', aliases: ['web', 'cache'], ipv4: '172.20.0.5' },
      { name: 'demo_front', aliases: ['web'] },
    ],
  });
  assert.equal(spec({ image: 'x', network_mode: 'host' }).network, { mode: 'host' });
  assert.equal(spec({ image: 'x', network_mode: 'service:db' }).network, { mode: 'ref', ref: { kind: 'service', service: 'db', sameReplica: false } });
  assert.equal(spec({ image: 'x', network_mode: 'container:vpn' }).network, { mode: 'ref', ref: { kind: 'container', name: 'vpn' } });
  const dbg = spec({ image: 'x', pid: 'service:db', ipc: 'container:other' });
  assert.equal([dbg.pid, dbg.ipc], [
    { mode: 'ref', ref: { kind: 'service', service: 'db', sameReplica: false } },
    { mode: 'ref', ref: { kind: 'container', name: 'other' } },
  ]);
  assert.equal(spec({ image: 'x', pid: 'host' }).pid, { mode: 'host' });
  const bad = normalizeContainer({ image: 'x', volumes_from: ['nobody'] }, ctx);
  assert.ok(!bad.ok && bad.problem.key.join('.') === 'volumes_from.0');
  const reserved = normalizeContainer({ image: 'x', labels: { 'berth.service': 'x' } }, ctx);
  assert.ok(!reserved.ok && /reserved/.test(reserved.problem.message));
});

test('a sidecar without a restart policy of its own takes its service\'s, so a reboot brings both back', () => {
  const web = service('web', {
    image: 'lab/busybox',
    restart: 'unless-stopped',
    sidecars: { logs: { image: 'lab/busybox' }, once: { image: 'lab/busybox', restart: 'no' } },
  });
  const side = Object.fromEntries(web.spec.sidecars.map((s) => [s.name, s.spec]));
  assert.equal(side.logs.restart, { name: 'unless-stopped' });
  assert.equal(side.once.restart, { name: 'no' }, 'its own policy wins');
  const plain = service('web', { image: 'lab/busybox', sidecars: { logs: { image: 'lab/busybox' } } });
  assert.is(plain.spec.sidecars[0]!.spec.restart, undefined, 'no policy anywhere: Docker\'s default');
});

test('sidecars point at their own replica; services at another service\'s first; both wait for what they point at', () => {
  const web = service('web', {
    image: 'lab/busybox',
    replicas: 2,
    sidecars: {
      logs: { image: 'lab/busybox', volumes_from: ['web:ro'] },
      probe: { image: 'lab/busybox', network_mode: 'service:web', volumes_from: ['logs'] },
      dbg: { image: 'lab/busybox', pid: 'service:db' },
    },
  });
  assert.is(web.spec.replicas, 2);
  const side = Object.fromEntries(web.spec.sidecars.map((s) => [s.name, s.spec]));
  assert.equal(side.logs.volumesFrom, [{ ref: { kind: 'service', service: 'web', sameReplica: true }, readOnly: true }]);
  assert.equal(side.probe.network, { mode: 'ref', ref: { kind: 'service', service: 'web', sameReplica: true } });
  assert.equal(side.probe.volumesFrom, [{ ref: { kind: 'service', service: 'web', sidecar: 'logs', sameReplica: true }, readOnly: false }]);
  assert.equal(web.spec.sidecars.map((s) => s.name), ['logs', 'probe', 'dbg'], 'a sidecar comes after the sibling it points at');
  assert.equal(side.logs.network, { mode: 'networks', networks: [{ name: 'demo_default', aliases: ['web-logs'] }] });
  assert.equal(web.spec.dependsOn, [{ service: 'db', condition: 'service_started', required: true, timeoutMs: 60_000 }], 'pid: service:db makes web start after db');

  const backup = service('backup', { image: 'lab/busybox', job: true, volumes_from: ['db:ro'], depends_on: { db: { condition: 'service_healthy', required: false } } });
  assert.equal(backup.spec.dependsOn, [{ service: 'db', condition: 'service_healthy', required: false, timeoutMs: 60_000 }]);
  assert.is(backup.spec.job, true);
  const db = service('db', { image: 'lab/busybox', volumes: ['dbdata:/data'] });
  assert.equal(db.volumes, ['demo_dbdata']);
  assert.equal(dependencyOrder(new Map([['backup', backup], ['web', web], ['db', db]])), ['db', 'backup', 'web']);
});

test('a service with build and no image gets the image Compose would name', () => {
  const s = service('web', { build: { context: 'web' } });
  assert.is(s.spec.main.image, 'demo-web');
  assert.equal(s.spec.build, { context: 'web' });
});

test('project names are what Docker accepts in names', () => {
  assert.is(projectName('My Demo!', '/x/pb.yml'), 'my-demo');
  assert.is(projectName(undefined, '/x/site.yml'), 'site');
});

const loadComposeFile = (path: string) =>
  loadCompose({
    path,
    baseDir: fixtures,
    shownDir: fixtures,
    vars: {},
    env: {},
    atReference: (code, message, hint) => ({ code, message, hint, where: 'playbook.yml:3:5', exit: 2, file: 'playbook.yml', line: 3, col: 5 }),
  });

test('compose: a Compose file\'s services, networks and volumes; links become aliases and dependencies', () => {
  const r = loadComposeFile('stack.yml');
  if (!r.ok) throw new Error(r.error.map((e) => `${e.where}: ${e.message}`).join('\n'));
  const c = r.value;
  assert.equal(Object.keys(c.services), ['web', 'cache']);
  assert.equal(c.services.web.depends_on, ['cache']);
  assert.equal(c.services.cache.networks, { back: { aliases: ['redis'] } });
  assert.equal(c.networks.back, { internal: true });
  assert.ok(c.where(['services', 'web', 'ports']).endsWith('stack.yml:8:12'), c.where(['services', 'web', 'ports']));
  const web = service('web', c.services.web);
  assert.equal(web.spec.main.ports.map((p) => `${p.hostIp ?? ''}:${p.published}:${p.target}/${p.protocol}`), [':8080:80/tcp', '127.0.0.1:9090:90/udp']);
  assert.equal(web.networks, ['demo_back', 'demo_front']);
});

test('compose: each unsupported key is an error at its own line, with a hint', () => {
  const r = loadComposeFile('unsupported.yml');
  assert.ok(!r.ok);
  if (r.ok) return;
  const lines = r.error.map((e) => `${e.where?.replace(/^.*\//, '')} ${e.message}`);
  assert.equal(lines, [
    'unsupported.yml:6:1 Compose key "include" at the top level is not supported by berth',
    'unsupported.yml:4:5 Compose key "extends" in services.web is not supported by berth',
    'unsupported.yml:5:5 Compose key "scale" in services.web is not supported by berth',
  ]);
  assert.match(r.error[2].hint ?? '', /deploy: \{ replicas: N \}/);
  const missing = loadComposeFile('nope.yml');
  assert.ok(!missing.ok && /compose: "nope\.yml" does not exist/.test(missing.error[0].message) && missing.error[0].where === 'playbook.yml:3:5');
});

test.run();
