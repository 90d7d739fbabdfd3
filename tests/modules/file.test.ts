// `file` through a real agent on this machine: paths, kinds, modes and owners, checked on disk.
// Every path lives in a temp dir; the agent's own files in another (BERTH_HOST_DIR).
import { existsSync, lstatSync, mkdirSync, readFileSync, readlinkSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { localAgentFixture, modeOf, ran, treeHash } from './run-tasks.js';

const { work, agent } = localAgentFixture(test, 'file');

const nobody = () => {
  const uid = Number(/^nobody:[^:]*:(\d+)/m.exec(readFileSync('/etc/passwd', 'utf8'))?.[1]);
  return uid;
};

test('directory: created with its mode, then converged; a second run changes nothing', async () => {
  const dir = join(work, 'a/b/c');
  const tasks = [{ module: 'file', params: { path: dir, state: 'directory', mode: '0750' } }];
  const first = ran(await agent.run(tasks));
  assert.equal(first.result.changed, 1, JSON.stringify(first.tasks));
  assert.ok(statSync(dir).isDirectory());
  assert.is(modeOf(dir), '0750');
  const second = ran(await agent.run(tasks));
  assert.equal([second.result.changed, second.result.ok], [0, 1]);
});

test('directory: a wrong mode is fixed and recursive applies owner and group to everything inside', async () => {
  const dir = join(work, 'tree');
  mkdirSync(join(dir, 'sub'), { recursive: true, mode: 0o700 });
  writeFileSync(join(dir, 'sub/f'), 'x');
  const uid = nobody();
  const tasks = [{ module: 'file', params: { path: dir, state: 'directory', mode: '0755', owner: 'nobody', group: 'nogroup', recursive: true } }];
  const first = ran(await agent.run(tasks));
  assert.is(first.result.changed, 1);
  assert.is(first.result.failed, 0, first.tasks[0].message);
  for (const p of [dir, join(dir, 'sub'), join(dir, 'sub/f')]) {
    assert.is(statSync(p).uid, uid, `owner of ${p}`);
  }
  assert.is(modeOf(dir), '0755');
  assert.is(modeOf(join(dir, 'sub/f')), '0755', 'recursive mode applies to files too, as in Ansible');
  assert.is(ran(await agent.run(tasks)).result.changed, 0);
});

test('touch creates an empty file once and keeps its timestamps afterwards; symbolic modes work', async () => {
  const f = join(work, 'touched');
  const tasks = [{ module: 'file', params: { path: f, state: 'touch', mode: 'u=rw,g=r,o=' } }];
  assert.is(ran(await agent.run(tasks)).result.changed, 1);
  assert.is(statSync(f).size, 0);
  assert.is(modeOf(f), '0640');
  const mtime = statSync(f).mtimeMs;
  assert.is(ran(await agent.run(tasks)).result.changed, 0);
  assert.is(statSync(f).mtimeMs, mtime);
});

test('state file fails clearly on a missing path and changes only attributes of an existing one', async () => {
  const missing = ran(await agent.run([{ module: 'file', params: { path: join(work, 'nope'), state: 'file' } }]));
  assert.is(missing.result.failed, 1);
  assert.match(missing.tasks[0].message ?? '', /does not exist/);
  const f = join(work, 'plain');
  writeFileSync(f, 'keep me', { mode: 0o644 });
  const r = ran(await agent.run([{ module: 'file', params: { path: f, mode: '0600' } }]));
  assert.is(r.result.changed, 1);
  assert.is(modeOf(f), '0600');
  assert.is(readFileSync(f, 'utf8'), 'keep me');
});

test('link: created, repointed when its target changes, and a file in the way needs force', async () => {
  const link = join(work, 'current');
  const run = (src: string, force?: boolean) => agent.run([{ module: 'file', params: { path: link, state: 'link', src, ...(force ? { force } : {}) } }]);
  assert.is(ran(await run('/etc/hostname')).result.changed, 1);
  assert.is(readlinkSync(link), '/etc/hostname');
  assert.is(ran(await run('/etc/hostname')).result.changed, 0);
  assert.is(ran(await run('/etc/os-release')).result.changed, 1);
  assert.is(readlinkSync(link), '/etc/os-release');

  const inTheWay = join(work, 'in-the-way');
  writeFileSync(inTheWay, 'data');
  const refused = ran(await agent.run([{ module: 'file', params: { path: inTheWay, state: 'link', src: '/etc/hostname' } }]));
  assert.is(refused.result.failed, 1);
  assert.ok(lstatSync(inTheWay).isFile(), 'the file is left alone');
  const forced = ran(await agent.run([{ module: 'file', params: { path: inTheWay, state: 'link', src: '/etc/hostname', force: true } }]));
  assert.is(forced.result.changed, 1);
  assert.ok(lstatSync(inTheWay).isSymbolicLink());
});

test('absent removes a whole tree, then has nothing to do', async () => {
  const dir = join(work, 'doomed');
  mkdirSync(join(dir, 'x/y'), { recursive: true });
  writeFileSync(join(dir, 'x/y/z'), 'z');
  const tasks = [{ module: 'file', params: { path: dir, state: 'absent' } }];
  assert.is(ran(await agent.run(tasks)).result.changed, 1);
  assert.not.ok(existsSync(dir));
  assert.is(ran(await agent.run(tasks)).result.changed, 0);
});

test('an unknown owner fails with its name; in check mode it is reported as a pending change', async () => {
  const f = join(work, 'owned');
  writeFileSync(f, '');
  const tasks = [{ module: 'file', params: { path: f, owner: 'no-such-user-berth' } }];
  const real = ran(await agent.run(tasks));
  assert.is(real.result.failed, 1);
  assert.match(real.tasks[0].message ?? '', /no user named "no-such-user-berth"/);
  const check = ran(await agent.run(tasks, { check: true }));
  assert.is(check.result.changed, 1);
  assert.match(check.tasks[0].changes[0].cause ?? '', /does not exist yet/);
});

test('check mode reports every change and leaves the tree byte-for-byte unchanged; diff shows before/after', async () => {
  const root = join(work, 'check');
  mkdirSync(root);
  writeFileSync(join(root, 'f'), 'content', { mode: 0o644 });
  mkdirSync(join(root, 'gone'));
  const before = treeHash(root);
  const tasks = [
    { module: 'file', params: { path: join(root, 'new-dir'), state: 'directory' } },
    { module: 'file', params: { path: join(root, 'f'), mode: '0600', owner: 'nobody' } },
    { module: 'file', params: { path: join(root, 'gone'), state: 'absent' } },
    { module: 'file', params: { path: join(root, 'l'), state: 'link', src: 'f' } },
    { module: 'file', params: { path: join(root, 't'), state: 'touch' } },
  ];
  const r = ran(await agent.run(tasks, { check: true, diff: true }));
  assert.is(r.result.changed, 5, JSON.stringify(r.tasks));
  assert.is(treeHash(root), before, 'nothing changed on disk');
  const diff = r.tasks[0].changes[0].diff ?? '';
  assert.match(diff, /-state: absent/);
  assert.match(diff, /\+state: directory/);
  assert.match(r.tasks[1].changes.map((c) => c.summary).join('\n'), /mode of .*0644 -> 0600/);
});

test.run();
