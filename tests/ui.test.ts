// The live view, rendered by ink into a fake terminal (ink-testing-library) with a clock the
// test moves: the frames an operator would see at each moment of a run.
import { Writable } from 'node:stream';
import { createElement } from 'react';
import { render } from 'ink-testing-library';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { RunEvent } from '../controller/run/events.js';
import type { ViewEvent } from '../cli/report/model.js';
import { renderRun } from '../cli/ui/render-run.js';
import { RunView, ViewGuard } from '../cli/ui/RunView.js';
import { RunStore } from '../cli/ui/store.js';
import { DIFF, sampleRun } from './helpers/run-events.js';

const plain = (s: string | undefined) => (s ?? '').replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '');
const settle = () => new Promise((r) => setImmediate(r));

/** A view on a fake terminal, a clock at `t` ms, and a way to feed it events. */
function view() {
  let t = 0;
  const store = new RunStore(() => t, 0);
  const app = render(createElement(RunView, { store, tickMs: 0 }));
  return {
    store,
    at: (ms: number) => void (t = ms),
    push: (...events: ViewEvent[]) => events.forEach((e) => store.push(e)),
    frame: async () => {
      store.flush();
      await settle();
      return plain(app.lastFrame());
    },
    app,
  };
}

const upTo = (events: RunEvent[], pred: (e: RunEvent) => boolean) => events.slice(0, events.findIndex(pred));
const task = (host: string, index: number, name: string, module = 'command') => ({ host, play: 0, task: index, name, module });

test('while connecting: a row per host with a spinner and the time so far', async () => {
  const v = view();
  v.push({ type: 'run-start', playbook: '/srv/playbooks/demo.yml', hosts: ['web1', 'web2'], check: false }, { type: 'host-connecting', host: 'web1' }, { type: 'host-connecting', host: 'web2' });
  v.at(1500);
  const f = await v.frame();
  assert.match(f, /apply demo\.yml · 2 hosts · 1\.5 s/);
  assert.match(f, /connecting\n/);
  assert.match(f, /[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏] web1 +connecting… +1\.5 s/);
  assert.match(f, /[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏] web2 +connecting… +1\.5 s/);
  v.app.unmount();
});

test('a running host shows its task, elapsed time, progress bars and its last output line', async () => {
  const v = view();
  v.push({ type: 'run-start', playbook: 'demo.yml', hosts: ['web1', 'web2'], check: false });
  v.push({ type: 'play-start', play: 'images', index: 0, hosts: ['web1', 'web2'] });
  v.at(1000);
  v.push({ type: 'task-start', ...task('web1', 0, 'build web', 'image') });
  v.push({ type: 'progress', host: 'web1', task: 0, label: 'build context', done: 12_000_000, total: 23_000_000 });
  v.push({ type: 'progress', host: 'web1', task: 0, label: 'layers', done: 3, total: 10 });
  v.push({ type: 'output', host: 'web1', task: 0, stream: 'stdout', line: 'Step 3/10 : COPY . /app' });
  v.at(3400);
  const f = await v.frame();
  assert.match(f, /PLAY images · 2 hosts · 3\.4 s/);
  assert.match(f, /[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏] web1 +build web \(image\) +2\.4 s/);
  assert.match(f, / +█{10}░{10} build context 12\.0 MB of 23\.0 MB 52%/);
  assert.match(f, / +█{6}░{14} layers 3\/10 30%/);
  assert.match(f, / +│ Step 3\/10 : COPY \. \/app/);
  assert.match(f, /· web2 +starting…/, 'a host that has not begun its first task yet');
  v.app.unmount();
});

test('a host that finished collapses to one line of counts; a failed one shows why', async () => {
  const v = view();
  const events = sampleRun();
  v.push(...upTo(events, (e) => e.type === 'play-end'));
  const f = await v.frame();
  assert.match(f, /✔ connected to 2 of 3 hosts in \d+ ms · agent pushed to 1 host \(37\.2 MB\)/);
  assert.match(f, /✖ db9 +unreachable: root@127\.0\.0\.1:1: cannot connect: connection refused\n +hint: is sshd running there, and is the port right\?/);
  assert.match(f, /✔ web1 +changed 2 +\d+ ms/);
  assert.match(f, /✖ web2 +failed at "warm the cache": command exited with code 1\n +\(stack trace hidden: rerun with --debug to see it\)\n +│ cache: disk full/);
  assert.not.match(f, /at warm \(/, 'no stack frames on screen');
  v.app.unmount();
});

test('at the end: each play once, the recap table, the slowest tasks and the result in words', async () => {
  const v = view();
  v.push(...sampleRun());
  const f = await v.frame();
  const lines = f.split('\n').map((l) => l.trimEnd());
  assert.equal(lines.filter((l) => /PLAY (base|finish)/.test(l)).length, 2, 'each finished play is printed once');
  assert.match(f, /✖ PLAY base · 2 hosts · \d+ ms · ok 1 · changed 2 · failed 1/);
  const recap = lines.slice(lines.indexOf('RECAP'), lines.indexOf('RECAP') + 6);
  assert.equal(recap, [
    'RECAP',
    '  host            ok changed  failed unreachable skipped      time',
    '  web1             0       3       0           0       0     2.6 s',
    '  web2             1       0       1           0       0     1.3 s',
    '  db9              0       0       0           1       0         -',
    '  3 hosts          1       3       1           1       0',
  ]);
  assert.ok(lines.includes('SLOWEST TASKS'));
  assert.ok(lines.includes('  2.5 s web1 warm the cache'), f);
  assert.ok(lines.includes('✖ failed: a task failed on at least one host (exit 1) in 4.1 s'));
  assert.not.match(f, /[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏]/, 'no spinner is left on screen');
  v.app.unmount();
});

test('plan: per host what would change and why, the diff, and the summary line', async () => {
  const v = view();
  v.push(...sampleRun({ check: true }));
  const f = await v.frame();
  assert.match(f, /PLAN \(check mode: nothing was changed\)\nweb1: 3 to change\n  ~ write the config: update \/etc\/demo\/app\.conf  \(content differs\)\n/);
  for (const l of DIFF.trimEnd().split('\n')) assert.ok(f.includes(`      ${l}\n`), l);
  assert.match(f, /  \+ create \/srv\/app: create directory \/srv\/app  \(missing\)/);
  assert.match(f, /web2: 1 failed\n  ! warm the cache: command exited with code 1/);
  assert.match(f, /3 to change, 1 ok on 2 hosts; 1 failed, 1 unreachable/);
  v.app.unmount();
});

test('a plan that cannot be rendered is the run\'s error, shown with its place and hint: exit 2', async () => {
  const v = view();
  v.push({ type: 'run-start', playbook: 'site.yml', hosts: ['h1', 'h2'], check: false });
  v.push({ type: 'host-ready', host: 'h1', connectMs: 5, agentMs: 5, uploadedBytes: 0, pushed: { agent: false, node: false }, os: 'debian', node: '20' });
  v.push({ type: 'host-ready', host: 'h2', connectMs: 5, agentMs: 5, uploadedBytes: 0, pushed: { agent: false, node: false }, os: 'debian', node: '20' });
  const error = { code: 'template.missing-var', message: 'variable "colour" is not defined for host h2', where: 'site.yml:6:9', hint: 'define it in the playbook vars, the inventory, or with -e KEY=VALUE', exit: 2 as const };
  v.push({ type: 'host-failed', host: error.where, error }, { type: 'run-end', exitCode: 2, durationMs: 300 });
  const f = await v.frame();
  assert.match(f, /✖ site\.yml:6:9: variable "colour" is not defined for host h2\n  hint: define it in the playbook vars/);
  assert.match(f, /✖ bad input: nothing was changed on any host \(exit 2\) in 300 ms/);
  assert.not.match(f, /RECAP\n  host/, 'no table of hosts that ran nothing');
  v.app.unmount();
});

test('Ctrl-C: the note, the play marked interrupted, the result', async () => {
  const v = view();
  v.push({ type: 'run-start', playbook: 'site.yml', hosts: ['h1'], check: false }, { type: 'play-start', play: 'slow', index: 0, hosts: ['h1'] });
  v.push({ type: 'task-start', ...task('h1', 0, 'sleep') }, { type: 'cancelling', reason: 'interrupted: every host stops after its current task' });
  v.push({ type: 'task-end', ...task('h1', 0, 'sleep'), status: 'changed', changes: [], durationMs: 2000 }, { type: 'play-end', index: 0 });
  v.push({ type: 'recap', hosts: { h1: { ok: 0, changed: 1, failed: 0, skipped: 0, unreachable: false, durationMs: 2000 } } }, { type: 'run-end', exitCode: 130, durationMs: 2100 });
  const f = await v.frame();
  assert.match(f, /interrupted: every host stops after its current task\n/);
  assert.match(f, /■ PLAY slow \(interrupted\)/);
  assert.match(f, /✖ cancelled \(exit 130\) in 2\.1 s/);
  v.app.unmount();
});

test('200 hosts: counts by state instead of 200 moving rows', async () => {
  const v = view();
  const hosts = Array.from({ length: 200 }, (_, i) => `node${String(i + 1).padStart(3, '0')}`);
  v.push({ type: 'run-start', playbook: 'fleet.yml', hosts, check: false });
  v.push({ type: 'play-start', play: 'base', index: 0, hosts });
  hosts.forEach((h, i) => {
    v.push({ type: 'task-start', ...task(h, 0, i < 150 ? 'install packages' : 'write config') });
    if (i < 40) v.push({ type: 'task-end', ...task(h, 0, 'install packages'), status: 'changed', changes: [], durationMs: 10 });
  });
  v.push({ type: 'task-end', ...task('node041', 0, 'install packages'), status: 'failed', changes: [], message: 'no package foo', durationMs: 10 });
  v.push({ type: 'host-failed', host: 'node199', error: { code: 'agent.lost', message: 'the agent stopped answering' } });
  v.at(4000);
  const f = await v.frame();
  const lines = f.split('\n');
  assert.ok(lines.length < 15, `a short frame, not a row per host:\n${f}`);
  assert.match(f, /42\/200 hosts finished/);
  assert.match(f, /running +158 +install packages ×109 · write config ×49/);
  assert.match(f, /done +40/);
  assert.match(f, /failed +2 +node041 node199/);
  assert.match(f, /longest running: node042 on "install packages" for 4\.0 s/);
  assert.not.match(f, /node100/);
  v.app.unmount();
});

test('a large recap lists the hosts that need attention, then counts the rest', async () => {
  const v = view();
  const hosts = Array.from({ length: 50 }, (_, i) => `n${i + 1}`);
  v.push({ type: 'run-start', playbook: 'fleet.yml', hosts, check: false });
  const recap = Object.fromEntries(hosts.map((h) => [h, { ok: 3, changed: 1, failed: h === 'n7' ? 1 : 0, skipped: 0, unreachable: h === 'n9', durationMs: 900 }]));
  v.push({ type: 'recap', hosts: recap }, { type: 'run-end', exitCode: 1, durationMs: 5000 });
  const f = await v.frame();
  assert.match(f, /  n7 +3 +1 +1 +0 +0 +900 ms/);
  assert.match(f, /  n9 +3 +1 +0 +1 +0 +-/);
  assert.match(f, /… 48 more hosts with nothing failed/);
  assert.match(f, /  50 hosts +150 +50 +1 +1 +0/);
  v.app.unmount();
});

test('a bug in the view is caught: no React stack on screen, the reporter is told', async () => {
  const errors: Error[] = [];
  const Boom = () => {
    throw new Error('view bug');
  };
  const quiet = console.error;
  console.error = () => {};
  try {
    const app = render(createElement(ViewGuard, { onError: (e: Error) => errors.push(e) }, createElement(Boom)));
    await settle();
    assert.is(errors[0]?.message, 'view bug');
    assert.not.match(plain(app.lastFrame()), /at Boom|view bug/);
    app.unmount();
  } finally {
    console.error = quiet;
  }
});

test('renderRun draws into the terminal it is given and leaves the recap as the last thing on it', async () => {
  let written = '';
  const out = Object.assign(new Writable({ write: (chunk, _enc, cb) => ((written += chunk), cb()) }), { columns: 100, rows: 40 }) as unknown as NodeJS.WriteStream;
  const r = renderRun({ stdout: out, tickMs: 0, throttleMs: 0 });
  for (const e of sampleRun()) r.sink(e);
  await r.close();
  const text = plain(written);
  assert.match(text, /RECAP[\s\S]*SLOWEST TASKS[\s\S]*failed: a task failed on at least one host \(exit 1\) in 4\.1 s\n*$/);
});

test.run();
