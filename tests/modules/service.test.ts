// The `service` module on a lab host that boots systemd, over real SSH: a real unit written by a
// `copy` task is started, stopped, enabled, disabled, restarted and reloaded, each idempotent
// where it should be, and a changed unit file is picked up with daemon_reload. Every claim is
// checked with systemctl and /proc on the host, not only in berth's report.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { connect, resolveTarget, type SshSession } from '../../controller/ssh/index.js';
import { sshLab, startLab, type LabHost, type TestLab } from '../helpers/lab.js';
import { ran, testAgent, type TaskSpec, type TestAgent } from './run-tasks.js';

let lab: TestLab;
let host: LabHost;
let session: SshSession;
let agent: TestAgent;

const onHost = async (cmd: string) => (await sshLab(lab, host, cmd)).stdout;
const UNIT = 'berth-test-echo';
const unitFile = (greeting: string) => `[Unit]
Description=berth test: a long-running process that logs its reloads

[Service]
Environment=GREETING=${greeting}
ExecStart=/bin/sh -c 'echo "start $GREETING" >> /var/log/${UNIT}.log; exec sleep infinity'
ExecReload=/bin/sh -c 'echo "reload $GREETING" >> /var/log/${UNIT}.log'

[Install]
WantedBy=multi-user.target
`;
const copyUnit = (greeting: string): TaskSpec => ({ module: 'copy', params: { dest: `/etc/systemd/system/${UNIT}.service`, content: unitFile(greeting), mode: '0644' } });
const service = (params: Record<string, unknown>): TaskSpec => ({ module: 'service', params: { name: UNIT, ...params } });

const state = async () => (await onHost(`systemctl is-active ${UNIT}; systemctl is-enabled ${UNIT}`)).split('\n');
const mainPid = async () => onHost(`systemctl show ${UNIT} -p MainPID --value`);
const log = async () => onHost(`cat /var/log/${UNIT}.log 2>/dev/null`);

/** Runs tasks and returns, per task, its status and change summaries. */
async function runTasks(tasks: TaskSpec[], check = false): Promise<Array<{ status: string; changes: string[]; message?: string }>> {
  const r = ran(await agent.run(tasks, { check }));
  return r.tasks.map((t) => ({ status: t.status, changes: t.changes.map((c) => c.summary), message: t.message }));
}

test.before(async () => {
  lab = await startLab({ name: 'service', hosts: 1, init: 'systemd' });
  host = lab.hosts[0]!;
  const target = resolveTarget({ name: host.name, address: host.address, port: host.port, user: 'root', key: lab.keyPath, known_hosts: lab.knownHostsPath }, { sshConfigPath: null, env: {} });
  if (!target.ok) throw new Error(target.error.message);
  const s = await connect(target.value);
  if (!s.ok) throw new Error(s.error.message);
  session = s.value;
  agent = await testAgent(session, host.name);
});

test.after(async () => {
  agent?.close();
  session?.close();
  await lab?.down();
});

test('a unit written by copy is started and enabled (check mode first changes nothing); a second run changes nothing', async () => {
  assert.is(agent.start.hello.facts.init, 'systemd');
  const tasks = [copyUnit('one'), service({ state: 'started', enabled: true, daemon_reload: true })];
  const check = await runTasks(tasks, true);
  // The unit is not there yet: check mode says what the run would do to it instead of failing.
  assert.equal(check.map((t) => t.status), ['changed', 'changed'], JSON.stringify(check));
  assert.equal(check[1]!.changes, ['systemctl daemon-reload', `enable ${UNIT}`, `start ${UNIT}`]);
  assert.is((await state())[0], 'inactive', 'check mode started nothing');
  assert.is((await onHost(`test -e /etc/systemd/system/${UNIT}.service && echo yes || echo no`)), 'no');

  const first = await runTasks(tasks);
  assert.equal(first.map((t) => t.status), ['changed', 'changed'], JSON.stringify(first));
  assert.equal(await state(), ['active', 'enabled']);
  assert.is(await log(), 'start one');
  assert.match(await onHost(`tr '\\0' '\\n' < /proc/${await mainPid()}/cmdline | head -1`), /^sleep$/);

  const second = await runTasks(tasks);
  assert.equal(second.map((t) => [t.status, t.changes]), [['ok', []], ['ok', []]]);
});

test('stopped and disabled, each once; then started again', async () => {
  const stop = await runTasks([service({ state: 'stopped', enabled: false })]);
  assert.equal(stop[0]!.changes.sort(), [`disable ${UNIT}`, `stop ${UNIT}`]);
  assert.equal(await state(), ['inactive', 'disabled']);
  assert.equal((await runTasks([service({ state: 'stopped', enabled: false })]))[0]!.changes, []);

  const start = await runTasks([service({ state: 'started' })]);
  assert.equal(start[0]!.changes, [`start ${UNIT}`]);
  assert.equal(await state(), ['active', 'disabled'], 'enabled left alone when not asked');
  assert.equal((await runTasks([service({ enabled: true })]))[0]!.changes, [`enable ${UNIT}`]);
  assert.equal(await state(), ['active', 'enabled']);
});

test('restarted gives a new process every run; reloaded runs ExecReload in the same process', async () => {
  const before = await mainPid();
  const r = await runTasks([service({ state: 'restarted' })]);
  assert.equal(r[0]!.changes, [`restart ${UNIT}`]);
  const after = await mainPid();
  assert.is.not(after, before);
  assert.is(await log(), 'start one\nstart one\nstart one');

  const reload = await runTasks([service({ state: 'reloaded' })]);
  assert.equal(reload[0]!.changes, [`reload ${UNIT}`]);
  assert.is(await mainPid(), after, 'a reload keeps the process');
  assert.match(await log(), /reload one$/);
});

test('a changed unit file: daemon_reload makes systemd read it before the restart; without a change, no daemon-reload', async () => {
  const tasks = [copyUnit('two'), service({ state: 'restarted', daemon_reload: true })];
  const r = await runTasks(tasks);
  assert.equal(r.map((t) => t.status), ['changed', 'changed'], JSON.stringify(r));
  assert.equal(r[1]!.changes, ['systemctl daemon-reload', `restart ${UNIT}`]);
  assert.is(await onHost(`systemctl show ${UNIT} -p NeedDaemonReload --value`), 'no');
  assert.match(await onHost(`tr '\\0' '\\n' < /proc/${await mainPid()}/environ | grep GREETING`), /^GREETING=two$/);
  assert.match(await log(), /start two$/);

  const same = await runTasks([copyUnit('two'), service({ state: 'started', daemon_reload: true })]);
  assert.equal(same.map((t) => [t.status, t.changes]), [['ok', []], ['ok', []]]);
});

test('an unknown unit is a clear failure naming it', async () => {
  const r = await runTasks([{ module: 'service', params: { name: 'no-such-unit-berth', state: 'started' } }]);
  assert.is(r[0]!.status, 'failed');
  assert.match(r[0]!.message ?? '', /no unit named no-such-unit-berth/);
});

test.run();
