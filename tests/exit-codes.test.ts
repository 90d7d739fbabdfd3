// Every exit code from a real run on lab hosts, and what the operator reads in plain lines
// (stdout is not a TTY here, as in CI): 0 converged, 1 a task failed, 2 bad input, 3 a host
// unreachable, 130 Ctrl-C. apply.test.ts checks the same runs through --json events; this file
// checks the words and the recap. Exit 4 (rollout reverted) comes with rollouts.
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { startLab, type TestLab } from './helpers/lab.js';

const root = new URL('..', import.meta.url).pathname;
let lab: TestLab;
const RUN_TIMEOUT_MS = 180_000;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
  /** stdout lines with every duration replaced by `T`: what is left must not vary. */
  lines: string[];
}

function berth(args: string[], opts: { interruptAfter?: RegExp } = {}): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [join(root, 'bin/berth.js'), ...args], { cwd: lab.dir, env: { ...process.env, CI: 'true' } });
    let stdout = '';
    let stderr = '';
    let sent = false;
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
      if (opts.interruptAfter && !sent && opts.interruptAfter.test(stdout)) {
        sent = true;
        setTimeout(() => child.kill('SIGINT'), 700);
      }
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    // A run that hangs fails its test with what it printed, instead of stalling the file.
    const timer = setTimeout(() => {
      stderr += `\n[test] berth ${args.join(' ')} still running after ${RUN_TIMEOUT_MS / 1000} s: killed\n`;
      child.kill('SIGKILL');
    }, RUN_TIMEOUT_MS);
    child.on('close', (code) => {
      clearTimeout(timer);
      const lines = stdout.replace(/\d+(\.\d+)? (ms|s)\b/g, 'T').split('\n');
      resolve({ code, stdout, stderr, lines });
    });
  });
}

const playbook = (name: string, yaml: string) => {
  const path = join(lab.dir, `${name}.yml`);
  writeFileSync(path, yaml);
  return path;
};

const tasks = (...lines: string[]) => ['name: t', 'plays:', '  - name: main', '    hosts: all', '    tasks:', ...lines.map((l) => `      ${l}`), ''].join('\n');

/** A port on loopback that nobody listens on (it was free a moment ago). */
async function deadPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}

test.before(async () => {
  lab = await startLab({ name: 'exit-codes', hosts: 2 });
});

test('0: converged; the recap counts every task and names the slowest', async () => {
  const pb = playbook('ok', tasks('- name: make the dir', '  file: { path: /srv/exit-test, state: directory }', '- name: take a moment', '  command: [sleep, "0.3"]'));
  const r = await berth(['apply', pb, '-i', lab.inventoryPath]);
  assert.is(r.code, 0, r.stderr + r.stdout);
  assert.is(r.lines[0], `apply ${pb} on 2 hosts`);
  for (const h of ['h1', 'h2']) {
    assert.ok(r.lines.some((l) => new RegExp(`^  ${h} +connected in T, agent up in T`).test(l)), `${h} connected`);
    assert.ok(r.lines.includes(`  ${h}       changed  make the dir  (T)`), r.stdout);
    assert.ok(r.lines.includes(`  ${h}       changed  take a moment  (T)`), r.stdout);
  }
  assert.ok(r.lines.includes('PLAY main [h1 h2]'));
  const recap = r.lines.slice(r.lines.indexOf('RECAP'));
  assert.equal(recap.slice(0, 5), [
    'RECAP',
    '  host          ok changed  failed unreachable skipped  time',
    '  h1             0       2       0           0       0  T',
    '  h2             0       2       0           0       0  T',
    '  2 hosts        0       4       0           0       0',
  ]);
  assert.equal(recap.slice(6, 8), ['SLOWEST TASKS', '  T  h1  take a moment'.replace('h1', recap[7]!.includes('h2') ? 'h2' : 'h1')]);
  assert.equal(r.lines.slice(-2), ['done in T', '']);
});

test('plan: what would change on each host and why, with the diff; nothing changes (exit 0)', async () => {
  const write = (text: string) => tasks('- name: write the config', `  copy: { content: "${text}\\n", dest: /srv/exit-test/app.conf }`);
  assert.is((await berth(['apply', playbook('conf-v1', write('greeting=hi')), '-i', lab.inventoryPath])).code, 0);
  const r = await berth(['plan', playbook('conf-v2', write('greeting=hello')), '-i', lab.inventoryPath]);
  assert.is(r.code, 0, r.stderr + r.stdout);
  const plan = r.lines.slice(r.lines.indexOf('PLAN (check mode: nothing was changed)'), r.lines.indexOf('RECAP') - 1);
  assert.equal(plan.slice(0, 2), ['PLAN (check mode: nothing was changed)', 'h1, h2: 1 to change']);
  assert.match(plan[2]!, /^  ~ write the config: update \/srv\/exit-test\/app\.conf .* {2}\(content differs\)$/);
  assert.ok(plan.includes('      -greeting=hi') && plan.includes('      +greeting=hello'), plan.join('\n'));
  assert.is(plan[plan.length - 1], '2 to change, 0 ok on 2 hosts', 'one change on each of 2 hosts');
  const again = await berth(['plan', playbook('conf-v1b', write('greeting=hi')), '-i', lab.inventoryPath]);
  assert.ok(again.lines.includes('h1, h2: nothing to change') && again.lines.includes('0 to change, 2 ok on 2 hosts'), again.stdout);
});

test('1: a failing command: its message and its last output under the host, FAILED in the recap', async () => {
  const pb = playbook('fail', tasks('- name: check the disk', '  shell: "echo checking; if [ $(hostname) = h2 ]; then echo \'disk full\' >&2; exit 3; fi"'));
  const r = await berth(['apply', pb, '-i', lab.inventoryPath]);
  assert.is(r.code, 1, r.stderr);
  const at = r.lines.indexOf('  h2       FAILED  check the disk  (T)');
  assert.ok(at > 0, r.stdout);
  assert.match(r.lines[at + 1]!, /^ {13}\S.*3/, 'the message says how it ended');
  assert.ok(r.lines.slice(at + 1, at + 6).includes('             | disk full'), r.stdout);
  assert.ok(r.lines.includes('  h1       changed  check the disk  (T)'));
  assert.ok(r.lines.includes('  h2             0       0       1           0       0  T'));
  assert.equal(r.lines.slice(-2), ['failed: a task failed on at least one host (exit 1) in T', '']);
  assert.not.match(r.stdout + r.stderr, /\n\s+at \S+ \(/, 'no stack trace');
});

test('2: bad input found before anything runs: file:line:col, a hint, nothing on stdout', async () => {
  const pb = playbook('bad', 'name: bad\nplays:\n  - hosts: all\n    tasks:\n      - command: { argv: [true] }\n        retries: lots\n');
  const r = await berth(['apply', pb, '-i', lab.inventoryPath]);
  assert.is(r.code, 2);
  assert.match(r.stderr, new RegExp(`^berth: ${pb.replace(/[.]/g, '\\.')}:\\d+:\\d+: `));
  assert.is(r.stdout, '');
  assert.not.match(r.stderr, /\n\s+at \S+ \(/);
});

test('2: a template that cannot render for one host is bad input too: no host changes anything', async () => {
  const inv = join(lab.dir, 'with-vars.yml');
  const h = lab.hosts;
  writeFileSync(inv, `ssh: { user: root, key: ${lab.keyPath}, known_hosts: ${lab.knownHostsPath} }\nhosts:\n  h1: { address: 127.0.0.1, port: ${h[0]!.port}, vars: { colour: blue } }\n  h2: { address: 127.0.0.1, port: ${h[1]!.port} }\n`);
  const pb = playbook('template-bad', tasks('- command: [touch, "/srv/exit-test/{{colour}}"]'));
  const r = await berth(['apply', pb, '-i', inv]);
  assert.is(r.code, 2, r.stdout + r.stderr);
  const err = r.lines.find((l) => l.startsWith('  ERROR '));
  assert.match(err ?? '', new RegExp(`^  ERROR ${pb.replace(/[.]/g, '\\.')}:\\d+:\\d+: variable "colour" is not defined for host h2$`), r.stdout);
  assert.equal(r.lines.slice(-2), ['bad input: nothing was changed on any host (exit 2) in T', '']);
});

test('3: an unreachable host is named with a hint; the others converge', async () => {
  const port = await deadPort();
  const inv = join(lab.dir, 'with-dead.yml');
  writeFileSync(inv, `ssh: { user: root, key: ${lab.keyPath}, known_hosts: ${lab.knownHostsPath} }\nhosts:\n  h1: { address: 127.0.0.1, port: ${lab.hosts[0]!.port} }\n  gone: { address: 127.0.0.1, port: ${port} }\n`);
  const r = await berth(['apply', playbook('ping', tasks('- ping:')), '-i', inv]);
  assert.is(r.code, 3, r.stderr + r.stdout);
  const at = r.lines.findIndex((l) => l.startsWith('  gone     UNREACHABLE '));
  assert.ok(at > 0, r.stdout);
  assert.match(r.lines[at]!, new RegExp(`127\\.0\\.0\\.1:${port}`), 'where: the address tried');
  assert.match(r.lines[at + 1]!, /^ {11}hint: /);
  assert.ok(r.lines.includes('  gone           0       0       0           1       0  -'));
  assert.ok(r.lines.includes('PLAY main [h1]'), 'the others go on');
  assert.equal(r.lines.slice(-2), ['incomplete: at least one host was unreachable (exit 3) in T', '']);
});

test('130: Ctrl-C: every host finishes its current task, then the run says it was cancelled', async () => {
  const pb = playbook('slow', tasks('- name: slow step', '  command: [sleep, "2"]', '- name: never reached', '  command: [touch, /srv/exit-test/never]'));
  const r = await berth(['apply', pb, '-i', lab.inventoryPath], { interruptAfter: /PLAY main/ });
  assert.is(r.code, 130, r.stderr + r.stdout);
  assert.ok(r.lines.includes('interrupted: every host stops after its current task'), r.stdout);
  assert.ok(r.lines.includes('  h1       changed  slow step  (T)'), 'the current task finished');
  assert.not.ok(r.stdout.includes('never reached'));
  assert.equal(r.lines.slice(-2), ['cancelled (exit 130) in T', '']);
});

test.after(async () => {
  await lab?.down();
});

test.run();
