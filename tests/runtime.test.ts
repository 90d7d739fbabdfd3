// The runtime module on a real lab host over real SSH. Lab hosts have no Docker, no systemd
// (tini is PID 1) and no package source but the lab repository: berth installs docker.io from
// it, runs dockerd under its own supervisor, and restarts it only when daemon.json changed.
// Every claim is checked on the host itself (docker over ssh, pids from /proc), not only in
// berth's report.
import { readFileSync } from 'node:fs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parse } from 'yaml';
import { connect, resolveTarget, type SshSession } from '../controller/ssh/index.js';
import { sshLab, startLab, type LabHost, type TestLab } from './helpers/lab.js';
import { ran, testAgent, type TaskSpec, type TestAgent } from './modules/run-tasks.js';

let lab: TestLab;
let host: LabHost;
let session: SshSession;
let agent: TestAgent;
let aptRepo: string;

const onHost = (cmd: string) => sshLab(lab, host, cmd);

async function connectAgent(): Promise<void> {
  const target = resolveTarget({ name: host.name, address: host.address, port: host.port, user: 'root', key: lab.keyPath, known_hosts: lab.knownHostsPath }, { sshConfigPath: null, env: {} });
  if (!target.ok) throw new Error(target.error.message);
  const s = await connect(target.value);
  if (!s.ok) throw new Error(s.error.message);
  session = s.value;
  agent = await testAgent(session, host.name);
}

/** dockerd's pid and start time (clock ticks since boot): a restart changes both. */
const dockerd = async () => (await onHost('p=$(cat /var/run/berth-dockerd.pid) && echo "$p $(cut -d" " -f22 /proc/$p/stat)"')).stdout;
const serverVersion = async () => (await onHost('docker version --format "{{.Server.Version}}"')).stdout;
const info = async (format: string) => (await onHost(`docker info --format '${format}'`)).stdout;

const runtime = (params: Record<string, unknown> = {}): TaskSpec[] => [{ module: 'runtime', params: { repo: aptRepo, ...params } }];

test.before(async () => {
  lab = await startLab({ name: 'runtime', hosts: 1 });
  host = lab.hosts[0];
  aptRepo = (parse(readFileSync(lab.inventoryPath, 'utf8')) as { vars: { berth_apt_repo: string } }).vars.berth_apt_repo;
  await connectAgent();
});

test.after(async () => {
  agent?.close();
  session?.close();
  await lab?.down();
});

test('check mode on a host without Docker reports the install and start, and changes nothing', async () => {
  assert.is((await onHost('command -v dockerd || echo none')).stdout, 'none', 'lab hosts start without Docker');
  const r = ran(await agent.run(runtime({ daemon: { 'log-driver': 'json-file' } }), { check: true }));
  assert.is(r.result.changed, 1, JSON.stringify(r.tasks));
  const summaries = r.tasks[0].changes.map((c) => c.summary).join('\n');
  assert.match(summaries, /write \/etc\/docker\/daemon\.json \(log-driver\)/);
  assert.match(summaries, /install docker\.io/);
  assert.match(summaries, /start docker \(berth's supervisor/);
  assert.is((await onHost('command -v dockerd || echo none')).stdout, 'none');
  assert.is((await onHost('test -e /etc/docker/daemon.json && echo yes || echo no')).stdout, 'no');
});

test('installs docker.io from the lab repository and starts a supervised dockerd that answers over ssh', async () => {
  const r = ran(await agent.run(runtime({ min_version: '20.10', daemon: { 'log-driver': 'json-file', 'log-opts': { 'max-size': '10m' } } })));
  assert.is(r.result.failed, 0, r.tasks[0]?.message);
  assert.is(r.result.changed, 1);
  assert.match(await serverVersion(), /^20\.10\./);
  assert.is(JSON.parse((await onHost('cat /etc/docker/daemon.json')).stdout)['log-opts']['max-size'], '10m');
  assert.is(await info('{{.LoggingDriver}} {{.Driver}}'), 'json-file overlay2', 'overlay2: /var/lib/docker is a volume');
  assert.match((await onHost('cat /proc/$(cat /var/run/berth-dockerd-supervisor.pid)/cmdline | tr "\\0" " "')).stdout, /dockerd-supervisor/);
});

test('a second apply reports ok and leaves dockerd alone', async () => {
  const before = await dockerd();
  const r = ran(await agent.run(runtime({ min_version: '20.10', daemon: { 'log-driver': 'json-file', 'log-opts': { 'max-size': '10m' } } })));
  assert.equal([r.result.ok, r.result.changed], [1, 0], JSON.stringify(r.tasks));
  assert.is(await dockerd(), before);
});

test('dockerd outlives the SSH connection that started it', async () => {
  const before = await dockerd();
  agent.close();
  session.close();
  await new Promise((r) => setTimeout(r, 500));
  await connectAgent();
  assert.is(await dockerd(), before);
  assert.match(await serverVersion(), /^20\.10\./);
});

test('a daemon.json change restarts the engine once; the next apply does nothing', async () => {
  const before = await dockerd();
  const params = runtime({ daemon: { 'log-driver': 'local', 'log-opts': { 'max-size': '5m' } } });
  const check = ran(await agent.run(params, { check: true, diff: true }));
  assert.match(check.tasks[0].changes[0].summary, /update \/etc\/docker\/daemon\.json \(log-driver, log-opts\) and restart docker/);
  assert.match(check.tasks[0].changes[0].diff ?? '', /-\s+"log-driver": "json-file"[\s\S]*\+\s+"log-driver": "local"/);
  assert.is(await dockerd(), before, 'check mode restarted nothing');

  const first = ran(await agent.run(params));
  assert.equal([first.result.changed, first.result.failed], [1, 0], first.tasks[0]?.message);
  const after = await dockerd();
  assert.is.not(after, before, 'restarted');
  assert.is(await info('{{.LoggingDriver}}'), 'local');

  const second = ran(await agent.run(params));
  assert.equal([second.result.ok, second.result.changed], [1, 0]);
  assert.is(await dockerd(), after, 'not restarted again');
});

test('a change of reloadable keys only (insecure-registries) reloads dockerd without a restart', async () => {
  const before = await dockerd();
  const params = runtime({ daemon: { 'log-driver': 'local', 'log-opts': { 'max-size': '5m' }, 'insecure-registries': ['10.99.0.1:5000'] } });
  const r = ran(await agent.run(params));
  assert.equal([r.result.changed, r.result.failed], [1, 0], r.tasks[0]?.message);
  assert.match(r.tasks[0].changes[0].summary, /\(insecure-registries\) and reload docker/);
  assert.is(await dockerd(), before, 'same dockerd process');
  assert.match(await info('{{json .RegistryConfig.IndexConfigs}}'), /10\.99\.0\.1:5000/);
});

test('a daemon.json dockerd refuses is taken back: the previous file returns and the engine runs', async () => {
  const good = (await onHost('cat /etc/docker/daemon.json')).stdout;
  const r = ran(await agent.run(runtime({ daemon: { 'log-driver': 'local', extra: { 'no-such-option': true } } })));
  assert.is(r.result.failed, 1);
  assert.match(r.tasks[0].message ?? '', /did not come back with the new \/etc\/docker\/daemon\.json.*the previous file is back/);
  assert.match(r.tasks[0].message ?? '', /no-such-option/, 'dockerd\'s own complaint is shown');
  assert.is((await onHost('cat /etc/docker/daemon.json')).stdout, good);
  assert.match(await serverVersion(), /^20\.10\./);
});

test('min_version above the installed engine fails clearly and changes nothing', async () => {
  const before = await dockerd();
  const r = ran(await agent.run(runtime({ min_version: '99.0' })));
  assert.is(r.result.failed, 1);
  assert.match(r.tasks[0].message ?? '', /docker 20\.10\.\S+ is older than min_version 99\.0/);
  assert.is(await dockerd(), before);
});

test('after the host restarted (no dockerd, no supervisor), the next apply starts the engine again', async () => {
  // What a restart of a tini host leaves: no process of ours. Kill them the hard way.
  await onHost('kill -9 $(cat /var/run/berth-dockerd-supervisor.pid) $(cat /var/run/berth-dockerd.pid) $(cat /var/run/docker/containerd/containerd.pid)');
  await new Promise((r) => setTimeout(r, 500));
  assert.is.not((await onHost('docker version >/dev/null 2>&1 && echo up || echo down')).stdout, 'up');
  const params = runtime({ daemon: { 'log-driver': 'local', 'log-opts': { 'max-size': '5m' }, 'insecure-registries': ['10.99.0.1:5000'] } });
  const r = ran(await agent.run(params));
  assert.equal([r.result.changed, r.result.failed], [1, 0], r.tasks[0]?.message);
  assert.match(r.tasks[0].changes.map((c) => c.summary).join('\n'), /start docker/);
  assert.match(await serverVersion(), /^20\.10\./);
  assert.is(ran(await agent.run(params)).result.changed, 0);
});

test.run();
