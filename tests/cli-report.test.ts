// The reporters without ink: which one a run gets, the plain lines (read line by line, as a log
// reader or a grep in CI would), the JSON events, and the derived views (plan, slowest tasks).
import { PassThrough } from 'node:stream';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { screenSafe, withoutStack } from '../cli/report/format.js';
import { jsonReporter } from '../cli/report/json.js';
import { emptyModel, reduce } from '../cli/report/model.js';
import { chooseReporter, plainColor } from '../cli/report/open.js';
import { plainReporter } from '../cli/report/plain.js';
import { planSummary, planSummaryLine, sections, slowestTasks } from '../cli/report/summary.js';
import { EVENTS_VERSION } from '../controller/run/events.js';
import { sampleRun } from './helpers/run-events.js';

function plainLines(opts: { check?: boolean; verbose?: boolean; color?: boolean } = {}): string[] {
  const out = new PassThrough();
  let text = '';
  out.on('data', (d) => (text += d));
  const sink = plainReporter({ verbose: !!opts.verbose, color: !!opts.color, out });
  for (const e of sampleRun({ check: opts.check })) sink(e);
  return text.split('\n');
}

test('the live view only on an interactive terminal outside CI; --json and --plain win', () => {
  assert.is(chooseReporter({}, {}, true), 'live');
  assert.is(chooseReporter({}, {}, false), 'plain', 'a pipe or a file gets plain lines');
  assert.is(chooseReporter({}, { CI: 'true' }, true), 'plain');
  assert.is(chooseReporter({}, { CI: '1' }, true), 'plain');
  assert.is(chooseReporter({}, { CONTINUOUS_INTEGRATION: 'yes' }, true), 'plain');
  assert.is(chooseReporter({}, { CI: 'false' }, true), 'live', 'CI=false is not CI');
  assert.is(chooseReporter({}, { TERM: 'dumb' }, true), 'plain');
  assert.is(chooseReporter({ plain: true }, {}, true), 'plain');
  assert.is(chooseReporter({ json: true }, {}, true), 'json');
  assert.is(chooseReporter({ json: true, plain: true }, { CI: 'true' }, false), 'json');
  assert.is(plainColor({}, true), true);
  assert.is(plainColor({ NO_COLOR: '' }, true), false);
  assert.is(plainColor({ CI: 'true' }, true), false);
  assert.is(plainColor({}, false), false);
});

test('plain lines: connections, plays, task results, failures with their output, recap, slowest tasks', () => {
  assert.equal(plainLines(), [
    'apply playbooks/demo.yml on 3 hosts',
    '  web1     connected in 120 ms, agent up in 340 ms, pushed agent + node runtime (37.2 MB)',
    '  web2     connected in 95 ms, agent up in 40 ms',
    '  db9      UNREACHABLE root@127.0.0.1:1: cannot connect: connection refused',
    '           hint: is sshd running there, and is the port right?',
    '',
    'PLAY base [web1 web2]',
    '  web1     changed  write the config  (40 ms)',
    '             --- /etc/demo/app.conf',
    '             +++ /etc/demo/app.conf',
    '             @@ -1 +1 @@',
    '             -greeting=hi',
    '             +greeting=hello',
    '  web2     ok  write the config  (35 ms)',
    '  web1     changed  warm the cache  (2.5 s)',
    '  web2     FAILED  warm the cache  (1.2 s)',
    '             command exited with code 1',
    '             (stack trace hidden: rerun with --debug to see it)',
    '             | cache: disk full',
    '',
    'PLAY finish [web1]',
    '  web1     changed  create /srv/app  (12 ms)',
    '',
    'RECAP',
    '  host          ok changed  failed unreachable skipped  time',
    '  web1           0       3       0           0       0  2.6 s',
    '  web2           1       0       1           0       0  1.3 s',
    '  db9            0       0       0           1       0  -',
    '  3 hosts        1       3       1           1       0',
    '',
    'SLOWEST TASKS',
    '  2.5 s  web1  warm the cache',
    '  1.2 s  web2  warm the cache',
    '  40 ms  web1  write the config',
    '  35 ms  web2  write the config',
    '  12 ms  web1  create /srv/app',
    '',
    'failed: a task failed on at least one host (exit 1) in 4.1 s',
    '',
  ]);
});

test('plain plan: per host what would change and why, with the diff, and the summary line', () => {
  const lines = plainLines({ check: true });
  assert.is(lines[0], 'plan playbooks/demo.yml on 3 hosts (check mode: nothing is changed)');
  assert.not.ok(lines.slice(0, lines.indexOf('PLAN (check mode: nothing was changed)')).some((l) => l.includes('+greeting')), 'diffs are shown once, in the plan');
  const plan = lines.slice(lines.indexOf('PLAN (check mode: nothing was changed)'), lines.indexOf('RECAP') - 1);
  assert.equal(plan, [
    'PLAN (check mode: nothing was changed)',
    'web1: 3 to change',
    '  ~ write the config: update /etc/demo/app.conf  (content differs)',
    '      --- /etc/demo/app.conf',
    '      +++ /etc/demo/app.conf',
    '      @@ -1 +1 @@',
    '      -greeting=hi',
    '      +greeting=hello',
    '  ~ warm the cache: run: warm-cache  (commands always run)',
    '  + create /srv/app: create directory /srv/app  (missing)',
    'web2: 1 failed',
    '  ! warm the cache: command exited with code 1',
    '3 to change, 1 ok on 2 hosts; 1 failed, 1 unreachable',
  ]);
});

test('plain lines carry no escape codes unless colours were asked for; then diffs are coloured', () => {
  assert.not.ok(plainLines().some((l) => l.includes('\x1b')));
  const coloured = plainLines({ check: true, color: true });
  assert.ok(coloured.includes('      \x1b[32m+greeting=hello\x1b[0m'));
  assert.ok(coloured.includes('      \x1b[31m-greeting=hi\x1b[0m'));
});

test('verbose plain lines show every output line and every change', () => {
  const lines = plainLines({ verbose: true });
  assert.ok(lines.includes('  web1     | warming 1/2'));
  assert.ok(lines.includes('             - update /etc/demo/app.conf [content differs]'));
  assert.not.ok(lines.includes('             | cache: disk full'), 'output of a failed task is not repeated');
});

test('--json: every event, one per line, stamped with the schema version', () => {
  const out = new PassThrough();
  let text = '';
  out.on('data', (d) => (text += d));
  const sink = jsonReporter(out);
  const events = sampleRun();
  for (const e of events) sink(e);
  const lines = text.trimEnd().split('\n');
  assert.is(lines.length, events.length);
  lines.forEach((l, i) => {
    const { v, time, ...rest } = JSON.parse(l) as Record<string, unknown>;
    assert.is(v, EVENTS_VERSION);
    assert.match(String(time), /^\d{4}-\d\d-\d\dT/);
    assert.equal(rest, events[i]);
  });
});

test('the slowest tasks leave out skipped ones; the plan summary counts tasks and hosts', () => {
  const m = emptyModel(0);
  for (const e of sampleRun({ check: true })) reduce(m, e, 0);
  assert.equal(slowestTasks(m, 2).map((t) => `${t.host} ${t.name}`), ['web1 warm the cache', 'web2 warm the cache']);
  assert.equal(planSummary(m), { toChange: 3, ok: 1, failed: 1, hosts: 2, unreachable: 1 });
  assert.is(planSummaryLine({ toChange: 2, ok: 5, failed: 0, hosts: 1, unreachable: 0 }), '2 to change, 5 ok on 1 host');
});

test('rows group by rollout batch when hosts have one, and by state past the row limit', () => {
  const m = emptyModel(0);
  reduce(m, { type: 'run-start', playbook: 'p.yml', hosts: Array.from({ length: 30 }, (_, i) => `h${i}`), check: false }, 0);
  const rows = [...m.hosts.values()];
  assert.equal(sections(rows, 20).map((s) => [s.title, s.rows.length, s.grouped]), [[undefined, 30, true]]);
  rows.forEach((r, i) => (r.batch = i < 2 ? 'batch 1/2' : 'batch 2/2'));
  assert.equal(sections(rows, 20).map((s) => [s.title, s.rows.length, s.grouped]), [['batch 1/2', 2, false], ['batch 2/2', 28, true]]);
});

test('a rollout in plain lines: batches, the halt, and the releases each service is at in the recap', () => {
  const out = new PassThrough();
  let text = '';
  out.on('data', (d) => (text += d));
  const sink = plainReporter({ verbose: false, color: false, out, now: () => 0 });
  const end = (host: string, release: string, status: 'changed' | 'failed' = 'changed') =>
    sink({ type: 'task-end', host, play: 0, task: 1, name: 'service web', module: 'services.converge', status, changes: [], durationMs: 10, ...(status === 'failed' ? { message: 'gate failed' } : { service: 'web', release }) });
  sink({ type: 'run-start', playbook: 'p.yml', hosts: ['h1', 'h2', 'h3'], check: false });
  sink({ type: 'play-start', play: 'web', index: 0, hosts: ['h1', 'h2', 'h3'] });
  sink({ type: 'batch-start', play: 0, batch: 1, batches: 3, hosts: ['h1'], canary: false });
  end('h1', 'aaaaaaaaaaaa');
  sink({ type: 'batch-end', play: 0, batch: 1, batches: 3, ok: ['h1'], failed: [], durationMs: 1200 });
  sink({ type: 'batch-start', play: 0, batch: 2, batches: 3, hosts: ['h2'], canary: false });
  end('h2', '', 'failed');
  sink({ type: 'batch-end', play: 0, batch: 2, batches: 3, ok: [], failed: ['h2'], durationMs: 900 });
  sink({ type: 'rollout-revert-start', play: 0, host: 'h2' });
  sink({ type: 'task-end', host: 'h2', play: 0, task: 100000, name: 'revert web', module: 'services.revert', status: 'changed', changes: [], durationMs: 5, service: 'web', release: 'bbbbbbbbbbbb' });
  sink({ type: 'rollout-revert-end', play: 0, host: 'h2', ok: true, releases: { web: 'bbbbbbbbbbbb' } });
  sink({ type: 'rollout-halted', play: 0, reason: '1 host failed and no failed host is allowed', untouched: ['h3'], reverted: true });
  sink({ type: 'play-end', index: 0 });
  sink({ type: 'recap', hosts: { h1: { ok: 0, changed: 1, failed: 0, skipped: 0, unreachable: false, durationMs: 10 }, h2: { ok: 0, changed: 1, failed: 1, skipped: 0, unreachable: false, durationMs: 10 }, h3: { ok: 0, changed: 0, failed: 0, skipped: 0, unreachable: false, durationMs: 0 } } });
  sink({ type: 'run-end', exitCode: 4, durationMs: 2000 });
  const lines = text.split('\n');
  assert.ok(lines.includes('  BATCH 1/3 [h1]'), text);
  assert.ok(lines.includes('  batch 2/3 failed on h2 (900 ms)'), text);
  assert.ok(lines.includes('  h2       REVERTING to the release before this run'), text);
  assert.ok(lines.includes('ROLLOUT HALTED: 1 host failed and no failed host is allowed; the failed batch was reverted'), text);
  assert.ok(lines.includes('  not touched: h3'), text);
  const at = lines.indexOf('RELEASES');
  assert.ok(at > 0, text);
  assert.is(lines[at + 1], '  web: aaaaaaaaaaaa on h1; bbbbbbbbbbbb on h2 (reverted to the release before this run)');
  assert.ok(lines.includes('rollout reverted or halted (exit 4) in 2.0 s'), text);
});

test('stack traces stay off the screen unless --debug asks for them', () => {
  const msg = 'internal error in module file: boom\nError: boom\n    at a (x.js:1:1)\n    at b (x.js:2:2)';
  assert.is(withoutStack(msg), 'internal error in module file: boom\n(stack trace hidden: rerun with --debug to see it)');
  assert.is(withoutStack(msg, true), msg);
  assert.is(withoutStack('Error: plain words from a command\nno frames'), 'Error: plain words from a command\nno frames', 'no frames, nothing hidden');
});

test('output drawn inside the live view loses its own colours and control characters', () => {
  assert.is(screenSafe('\x1b[32mok\x1b[0m\tdone\r'), 'ok  done');
  assert.is(screenSafe('50%\x1b[2K\x1b[1G60%'), '50%60%');
});

test.run();
