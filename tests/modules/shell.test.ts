// `shell` and `command` results: pipes and redirections work, creates/removes skip, results
// carry rc/stdout/stderr for register, and check mode runs nothing.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { localAgentFixture, ran, treeHash } from './run-tasks.js';

const { work, agent } = localAgentFixture(test, 'shell');

test('a command line with pipes, redirections, env and chdir runs through /bin/sh', async () => {
  const r = ran(await agent.run([{ module: 'shell', params: { cmd: 'echo "$GREETING" | tr a-z A-Z > out.txt && cat out.txt', chdir: work, env: { GREETING: 'hello' } } }]));
  assert.is(r.result.changed, 1, JSON.stringify(r.tasks));
  assert.is(readFileSync(join(work, 'out.txt'), 'utf8'), 'HELLO\n');
  assert.equal(r.output, ['HELLO']);
});

test('stdin and another executable', async () => {
  const r = ran(await agent.run([{ module: 'shell', params: { cmd: 'read x; echo "got $x" > stdin.txt', chdir: work, stdin: 'data\n', executable: '/bin/bash' } }]));
  assert.is(r.result.changed, 1);
  assert.is(readFileSync(join(work, 'stdin.txt'), 'utf8'), 'got data\n');
});

test('creates and removes make it idempotent; relative paths are relative to chdir', async () => {
  const tasks = [{ module: 'shell', params: { cmd: 'echo once >> marker', chdir: work, creates: 'marker' } }];
  assert.is(ran(await agent.run(tasks)).result.changed, 1);
  assert.is(ran(await agent.run(tasks)).result.changed, 0);
  assert.is(readFileSync(join(work, 'marker'), 'utf8'), 'once\n');
  const rm = [{ module: 'shell', params: { cmd: 'rm marker', chdir: work, removes: 'marker' } }];
  assert.is(ran(await agent.run(rm)).result.changed, 1);
  assert.not.ok(existsSync(join(work, 'marker')));
  assert.is(ran(await agent.run(rm)).result.changed, 0);
});

test('a failing command fails the task with its exit code and the tail of its output', async () => {
  const r = ran(await agent.run([{ module: 'shell', params: 'echo about to fail >&2; exit 7' }]));
  assert.is(r.result.failed, 1);
  assert.match(r.tasks[0].message ?? '', /exited with 7/);
  assert.match(r.tasks[0].message ?? '', /about to fail/);
});

test('results carry rc, stdout, stderr and their lines, which register and changed_when read', async () => {
  const { shell } = await import('../../modules/shell.js');
  const ctx = { facts: {} as never, check: false, diff: false, output: () => {}, progress: () => {}, signal: new AbortController().signal, blob: async () => ({ ok: false as const, error: { code: 'x', message: 'x' } }) };
  const planned = await shell.plan('printf "a\\nb\\n"; echo err >&2', ctx);
  assert.ok(planned.ok && planned.changes.length === 1);
  if (!planned.ok) return;
  const applied = await planned.changes[0].apply();
  assert.ok(applied.ok);
  const data = applied.ok ? applied.data : undefined;
  assert.is(data?.rc, 0);
  assert.is(data?.stdout, 'a\nb');
  assert.is(data?.stderr, 'err');
  assert.equal(data?.stdout_lines, ['a', 'b']);
  assert.equal(data?.stderr_lines, ['err']);

  // A failure still carries its result, for failed_when: result.rc > 1 and the like.
  const failing = await shell.plan({ cmd: 'echo partial; exit 3' }, ctx);
  const res = failing.ok ? await failing.changes[0].apply() : undefined;
  assert.is(res?.ok, false);
  assert.is(res?.data?.rc, 3);
  assert.is(res?.data?.stdout, 'partial');
});

test('check mode runs nothing', async () => {
  writeFileSync(join(work, 'keep'), 'x');
  const before = treeHash(work);
  const r = ran(await agent.run([{ module: 'shell', params: { cmd: 'rm -f keep; touch new', chdir: work } }], { check: true }));
  assert.is(r.result.changed, 1);
  assert.is(treeHash(work), before);
});

test('command: a line is split by quotes alone, as Ansible does: no $, glob or # is expanded; an open quote is an error', async () => {
  const { command } = await import('../../modules/command.js');
  const ctx = { facts: {} as never, check: false, diff: false, output: () => {}, progress: () => {}, signal: new AbortController().signal, blob: async () => ({ ok: false as const, error: { code: 'x', message: 'x' } }) };
  const planned = await command.plan(`printf '%s|' p$ss\${x}w $HOME *.txt "a b" #c`, ctx);
  if (!planned.ok) return assert.unreachable(planned.error.message);
  const applied = await planned.changes[0].apply();
  assert.is(applied.ok && applied.data?.stdout, 'p$ss${x}w|$HOME|*.txt|a b|#c|');
  const open = await command.plan('echo "unclosed', ctx);
  assert.is(open.ok ? 'ok' : open.error.code, 'command.quoting');
});

test.run();
