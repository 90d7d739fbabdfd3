// `lineinfile` through a real agent on this machine: edits checked on disk, idempotent, atomic.
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { localAgentFixture, modeOf, ran, treeHash } from './run-tasks.js';

const { work, agent } = localAgentFixture(test, 'lineinfile');

const SSHD = '# sshd\nPort 22\n#PermitRootLogin yes\nPasswordAuthentication yes\n';
const fresh = (name: string, text = SSHD) => {
  const p = join(work, name);
  writeFileSync(p, text);
  chmodSync(p, 0o640);
  return p;
};
const lif = (params: Record<string, unknown>) => [{ module: 'lineinfile', params }];
const twice = async (tasks: ReturnType<typeof lif>) => [ran(await agent.run(tasks)).result.changed, ran(await agent.run(tasks)).result.changed];

test('regexp replaces the matching line once; the second run changes nothing; mode is kept', async () => {
  const f = fresh('sshd_config');
  assert.equal(await twice(lif({ path: f, regexp: '^#?PermitRootLogin', line: 'PermitRootLogin no' })), [1, 0]);
  assert.is(readFileSync(f, 'utf8'), '# sshd\nPort 22\nPermitRootLogin no\nPasswordAuthentication yes\n');
  assert.is(modeOf(f), '0640');
});

test('a missing line goes at EOF, or after / before the line a regexp finds, or at BOF', async () => {
  const f = fresh('a');
  assert.equal(await twice(lif({ path: f, line: 'UseDNS no' })), [1, 0]);
  assert.match(readFileSync(f, 'utf8'), /yes\nUseDNS no\n$/);
  const g = fresh('b');
  assert.equal(await twice(lif({ path: g, line: 'AddressFamily inet', insertafter: '^Port ' })), [1, 0]);
  assert.is(readFileSync(g, 'utf8'), '# sshd\nPort 22\nAddressFamily inet\n#PermitRootLogin yes\nPasswordAuthentication yes\n');
  const h = fresh('c');
  assert.equal(await twice(lif({ path: h, line: 'Include /etc/ssh/extra', insertbefore: 'BOF' })), [1, 0]);
  assert.match(readFileSync(h, 'utf8'), /^Include \/etc\/ssh\/extra\n# sshd\n/);
  const i = fresh('d');
  assert.equal(await twice(lif({ path: i, line: 'Protocol 2', insertbefore: '^Password' })), [1, 0]);
  assert.match(readFileSync(i, 'utf8'), /Protocol 2\nPasswordAuthentication yes\n$/);
});

test('a regexp that matches nothing does not duplicate a line that is already there', async () => {
  const f = fresh('e', 'Port 22\nUseDNS no\n');
  assert.equal(await twice(lif({ path: f, regexp: '^#UseDNS', line: 'UseDNS no' })), [0, 0]);
});

test('absent removes every matching line; backrefs reuse groups of the regexp', async () => {
  const f = fresh('f', 'keep\nx=1\nkeep too\nx=2\n');
  assert.equal(await twice(lif({ path: f, regexp: '^x=', state: 'absent' })), [1, 0]);
  assert.is(readFileSync(f, 'utf8'), 'keep\nkeep too\n');
  const g = fresh('g', 'memory_limit = 128M\n');
  assert.equal(await twice(lif({ path: g, regexp: '^memory_limit = (\\d+)M$', line: 'memory_limit = $1M # checked', backrefs: true })), [1, 0]);
  assert.is(readFileSync(g, 'utf8'), 'memory_limit = 128M # checked\n');
});

test('a missing file is an error unless create is set; created with the asked mode', async () => {
  const p = join(work, 'new.conf');
  const no = ran(await agent.run(lif({ path: p, line: 'a=1' })));
  assert.is(no.result.failed, 1);
  assert.match(no.tasks[0].message ?? '', /does not exist/);
  assert.equal(await twice(lif({ path: p, line: 'a=1', create: true, mode: '0600' })), [1, 0]);
  assert.is(readFileSync(p, 'utf8'), 'a=1\n');
  assert.is(modeOf(p), '0600');
});

test('a file without a final newline gets one along with the new line', async () => {
  const f = fresh('h', 'one\ntwo');
  assert.equal(await twice(lif({ path: f, line: 'three' })), [1, 0]);
  assert.is(readFileSync(f, 'utf8'), 'one\ntwo\nthree\n');
});

test('check mode with diff shows the edit as a unified diff and changes nothing on disk', async () => {
  fresh('sshd_check');
  const before = treeHash(work);
  const r = ran(await agent.run(lif({ path: join(work, 'sshd_check'), regexp: '^PasswordAuthentication', line: 'PasswordAuthentication no' }), { check: true, diff: true }));
  assert.is(r.result.changed, 1);
  assert.is(treeHash(work), before);
  assert.match(r.tasks[0].changes[0].diff ?? '', /@@ -1,4 \+1,4 @@\n # sshd\n Port 22\n #PermitRootLogin yes\n-PasswordAuthentication yes\n\+PasswordAuthentication no\n/);
});

test('a bad regexp is a clear failure, not a crash', async () => {
  const r = ran(await agent.run(lif({ path: fresh('i'), regexp: '([unclosed', line: 'x' })));
  assert.is(r.result.failed, 1);
  assert.match(r.tasks[0].message ?? '', /regexp is not a valid regular expression/);
});

test.run();
