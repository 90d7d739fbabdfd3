// The runtime module on real lab hosts over real SSH. Lab hosts have no Docker and no package
// source but the lab repository: berth installs docker.io from it and restarts the engine only
// when daemon.json changed. On a host without an init (tini is PID 1) berth runs dockerd under
// its own supervisor; on a host that boots systemd, docker.service is enabled and systemd runs
// it. Every claim is checked on the host itself (docker and systemctl over ssh, pids from
// /proc), not only in berth's report.
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
/** The systemd host and berth's agent on it. */
let sdLab: TestLab;
let sdSession: SshSession;
let sd: TestAgent;

const onHost = (cmd: string) => sshLab(lab, host, cmd);
const onSd = (cmd: string) => sshLab(sdLab, sdLab.hosts[0]!, cmd);

async function agentOn(l: TestLab): Promise<{ session: SshSession; agent: TestAgent }> {
  const h = l.hosts[0]!;
  const target = resolveTarget({ name: h.name, address: h.address, port: h.port, user: 'root', key: l.keyPath, known_hosts: l.knownHostsPath }, { sshConfigPath: null, env: {} });
  if (!target.ok) throw new Error(target.error.message);
  const s = await connect(target.value);
  if (!s.ok) throw new Error(s.error.message);
  return { session: s.value, agent: await testAgent(s.value, h.name) };
}

async function connectAgent(): Promise<void> {
  ({ session, agent } = await agentOn(lab));
}

/** dockerd's pid and start time (clock ticks since boot): a restart changes both. */
const dockerd = async () => (await onHost('p=$(cat /var/run/berth-dockerd.pid) && echo "$p $(cut -d" " -f22 /proc/$p/stat)"')).stdout;
const serverVersion = async () => (await onHost('docker version --format "{{.Server.Version}}"')).stdout;
const info = async (format: string) => (await onHost(`docker info --format '${format}'`)).stdout;

const runtime = (params: Record<string, unknown> = {}): TaskSpec[] => [{ module: 'runtime', params: { repo: aptRepo, ...params } }];

test.before(async () => {
  [lab, sdLab] = await Promise.all([startLab({ name: 'runtime', hosts: 1 }), startLab({ name: 'runtime-systemd', hosts: 1, init: 'systemd' })]);
  host = lab.hosts[0];
  aptRepo = (parse(readFileSync(lab.inventoryPath, 'utf8')) as { vars: { berth_apt_repo: string } }).vars.berth_apt_repo;
  await connectAgent();
  ({ session: sdSession, agent: sd } = await agentOn(sdLab));
});

test.after(async () => {
  agent?.close();
  session?.close();
  sd?.close();
  sdSession?.close();
  await Promise.all([lab?.down(), sdLab?.down()]);
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

// The systemd host: the same module, with systemd keeping dockerd running.

/** docker.service's main pid and its start time (clock ticks since boot): a restart changes both. */
const unitDockerd = async () => (await onSd('p=$(systemctl show docker.service -p MainPID --value) && echo "$p $(cut -d" " -f22 /proc/$p/stat) $(cat /proc/$p/comm)"')).stdout;
const sdUnit = async () => (await onSd('systemctl is-active docker.service; systemctl is-enabled docker.service')).stdout.split('\n');
const sdRuntime = (params: Record<string, unknown> = {}): TaskSpec[] => [{ module: 'runtime', params: { repo: aptRepo, ...params } }];
const LOGS = { 'log-driver': 'json-file', 'log-opts': { 'max-size': '10m' } };

test('systemd host: check mode reports the install and a start through systemd, and changes nothing', async () => {
  assert.is((await onSd('cat /proc/1/comm')).stdout, 'systemd');
  assert.is((await onSd('command -v dockerd || echo none')).stdout, 'none');
  const r = ran(await sd.run(sdRuntime({ daemon: LOGS }), { check: true }));
  const summaries = r.tasks[0].changes.map((c) => c.summary).join('\n');
  assert.match(summaries, /install docker\.io/);
  assert.match(summaries, /start docker \(systemd \(docker\.service\)\)/);
  assert.not.match(summaries, /supervisor/);
  assert.is((await onSd('command -v dockerd || echo none')).stdout, 'none');
});

test('systemd host: installs docker.io; docker.service is enabled and active and runs dockerd, with no supervisor of berth\'s', async () => {
  const r = ran(await sd.run(sdRuntime({ min_version: '20.10', daemon: LOGS })));
  assert.is(r.result.failed, 0, r.tasks[0]?.message);
  assert.equal(await sdUnit(), ['active', 'enabled']);
  assert.match(await unitDockerd(), /^\d+ \d+ dockerd$/);
  assert.match((await onSd('docker version --format "{{.Server.Version}}"')).stdout, /^20\.10\./);
  assert.is((await onSd("docker info --format '{{.LoggingDriver}}'")).stdout, 'json-file');
  assert.is((await onSd('test -e /usr/local/lib/berth/dockerd-supervisor || test -e /var/run/berth-dockerd-supervisor.pid; echo $?')).stdout, '1');
  const again = ran(await sd.run(sdRuntime({ min_version: '20.10', daemon: LOGS })));
  assert.equal([again.result.ok, again.result.changed], [1, 0], JSON.stringify(again.tasks));
});

test('systemd host: a daemon.json change restarts docker.service once; the next apply does nothing', async () => {
  const before = await unitDockerd();
  const params = sdRuntime({ daemon: { 'log-driver': 'local', 'log-opts': { 'max-size': '5m' } } });
  const first = ran(await sd.run(params));
  assert.equal([first.result.changed, first.result.failed], [1, 0], first.tasks[0]?.message);
  assert.match(first.tasks[0].changes[0].summary, /and restart docker/);
  const after = await unitDockerd();
  assert.is.not(after, before, 'restarted');
  assert.equal(await sdUnit(), ['active', 'enabled']);
  assert.is((await onSd("docker info --format '{{.LoggingDriver}}'")).stdout, 'local');
  assert.equal(ran(await sd.run(params)).result.changed, 0);
  assert.is(await unitDockerd(), after, 'not restarted again');
});

test('systemd host: a daemon.json dockerd refuses is taken back, past systemd\'s start limit', async () => {
  const good = (await onSd('cat /etc/docker/daemon.json')).stdout;
  const r = ran(await sd.run(sdRuntime({ daemon: { 'log-driver': 'local', extra: { 'no-such-option': true } } })));
  assert.is(r.result.failed, 1);
  assert.match(r.tasks[0].message ?? '', /the previous file is back and the engine runs with it/);
  assert.is((await onSd('cat /etc/docker/daemon.json')).stdout, good);
  assert.equal(await sdUnit(), ['active', 'enabled']);
});

test.run();
