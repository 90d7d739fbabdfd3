// `copy` end to end: the controller prepares src/content into content hashes, the agent on this
// machine fetches only what it lacks and writes atomically. State is checked on disk.
import { chmodSync, chownSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { localTransport } from '../../controller/local-transport.js';
import { modeOf, ran, testAgent, treeHash, type TestAgent } from './run-tasks.js';

const hostDir = mkdtempSync(join(tmpdir(), 'berth-host-'));
process.env.BERTH_HOST_DIR = hostDir;
const work = mkdtempSync(join(tmpdir(), 'berth-copy-'));
const book = join(work, 'playbook');
const dest = join(work, 'dest');
mkdirSync(join(book, 'files'), { recursive: true });
mkdirSync(dest);
writeFileSync(join(book, 'files/app.conf'), 'port = 8080\nworkers = 4\n');
const transport = localTransport();
let agent: TestAgent;
const uidOf = (name: string) => Number(new RegExp(`^${name}:[^:]*:(\\d+)`, 'm').exec(readFileSync('/etc/passwd', 'utf8'))![1]);

test.before(async () => {
  agent = await testAgent(transport, 'local');
});
test.after(() => {
  agent?.close();
  transport.close();
  rmSync(hostDir, { recursive: true, force: true });
  rmSync(work, { recursive: true, force: true });
});

const copy = (params: Record<string, unknown>) => [{ module: 'copy', params }];

test('src: the file arrives with its content, mode and owner; the second run changes and sends nothing', async () => {
  const target = join(dest, 'app.conf');
  const tasks = copy({ src: 'files/app.conf', dest: target, mode: '0640', owner: 'nobody' });
  const first = ran(await agent.run(tasks, { baseDir: book }));
  assert.is(first.result.changed, 1, JSON.stringify(first.tasks));
  assert.is(readFileSync(target, 'utf8'), 'port = 8080\nworkers = 4\n');
  assert.is(modeOf(target), '0640');
  assert.is(statSync(target).uid, uidOf('nobody'));
  const served = agent.blobs.served;
  assert.ok(served > 0, 'the content was fetched once');

  const second = ran(await agent.run(tasks, { baseDir: book }));
  assert.equal([second.result.changed, second.result.ok], [0, 1]);
  assert.is(agent.blobs.served, served, 'nothing fetched when the host has the content');
});

test('a file changed on the host is put back from the host\'s blob store, without a new transfer', async () => {
  const target = join(dest, 'app.conf');
  writeFileSync(target, 'tampered\n');
  const served = agent.blobs.served;
  const r = ran(await agent.run(copy({ src: 'files/app.conf', dest: target, mode: '0640', owner: 'nobody' }), { baseDir: book }));
  assert.is(r.result.changed, 1);
  assert.is(readFileSync(target, 'utf8'), 'port = 8080\nworkers = 4\n');
  assert.is(agent.blobs.served, served);
});

test('content: inline text; an update keeps the existing mode and owner and shows a unified diff', async () => {
  const target = join(dest, 'motd');
  writeFileSync(target, 'line one\nline two\nline three\n');
  chmodSync(target, 0o604);
  chownSync(target, uidOf('nobody'), -1);
  const r = ran(await agent.run(copy({ content: 'line one\nline 2\nline three\n', dest: target }), { diff: true }));
  assert.is(r.result.changed, 1);
  assert.is(readFileSync(target, 'utf8'), 'line one\nline 2\nline three\n');
  assert.is(modeOf(target), '0604', 'mode kept');
  assert.is(statSync(target).uid, uidOf('nobody'), 'owner kept');
  const diff = r.tasks[0].changes[0].diff ?? '';
  assert.match(diff, /^--- .*motd \(before\)\n\+\+\+ .*motd \(after\)\n@@ -1,3 \+1,3 @@\n line one\n-line two\n\+line 2\n line three\n$/);
  assert.is(ran(await agent.run(copy({ content: 'line one\nline 2\nline three\n', dest: target }))).result.changed, 0);
});

test('a new file without a mode gets the umask\'s mode; "preserve" takes the mode of src', async () => {
  const script = join(book, 'files/run.sh');
  writeFileSync(script, '#!/bin/sh\necho hi\n');
  chmodSync(script, 0o750);
  ran(await agent.run(copy({ src: 'files/run.sh', dest: join(dest, 'plain.sh') }), { baseDir: book }));
  assert.is(modeOf(join(dest, 'plain.sh')), '0644');
  ran(await agent.run(copy({ src: 'files/run.sh', dest: join(dest, 'kept.sh'), mode: 'preserve' }), { baseDir: book }));
  assert.is(modeOf(join(dest, 'kept.sh')), '0750');
});

test('dest that is a directory receives the file under its source name', async () => {
  const dir = join(dest, 'conf.d');
  mkdirSync(dir);
  const r = ran(await agent.run(copy({ src: 'files/app.conf', dest: `${dir}/` }), { baseDir: book }));
  assert.is(r.result.changed, 1);
  assert.is(readFileSync(join(dir, 'app.conf'), 'utf8'), 'port = 8080\nworkers = 4\n');
});

test('force: false never replaces a file that differs', async () => {
  const target = join(dest, 'local-edit');
  writeFileSync(target, 'mine\n');
  const r = ran(await agent.run(copy({ content: 'theirs\n', dest: target, force: false })));
  assert.is(r.result.changed, 0);
  assert.is(readFileSync(target, 'utf8'), 'mine\n');
});

test('a missing directory fails the task and leaves no temp file anywhere', async () => {
  const r = ran(await agent.run(copy({ content: 'x', dest: join(dest, 'no/such/dir/file') })));
  assert.is(r.result.failed, 1);
  assert.match(r.tasks[0].message ?? '', /directory .* does not exist/);
  const stray = (d: string): string[] => readdirSync(d, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? stray(join(d, e.name)) : e.name.includes('.berth-') ? [e.name] : []));
  assert.equal(stray(dest), []);
});

test('binary content: written byte for byte, and the diff is a one-line note', async () => {
  const bin = Buffer.from([0, 1, 2, 255, 254, 0, 10, 13]);
  writeFileSync(join(book, 'files/blob.bin'), bin);
  const target = join(dest, 'blob.bin');
  const r = ran(await agent.run(copy({ src: 'files/blob.bin', dest: target }), { baseDir: book, diff: true }));
  assert.is(r.result.changed, 1);
  assert.ok(readFileSync(target).equals(bin));
  assert.match(r.tasks[0].changes[0].diff ?? '', /binary file, diff not shown \(absent -> 8 bytes\)/);
});

test('check mode reports creates and updates with diffs and leaves the tree byte-for-byte unchanged', async () => {
  const before = treeHash(dest);
  const r = ran(
    await agent.run(
      [
        { module: 'copy', params: { content: 'brand new\n', dest: join(dest, 'new-file') } },
        { module: 'copy', params: { content: 'changed\n', dest: join(dest, 'motd') } },
        { module: 'copy', params: { src: 'files/app.conf', dest: join(dest, 'app.conf'), mode: '0600', owner: 'root' } },
      ],
      { check: true, diff: true, baseDir: book },
    ),
  );
  assert.equal(r.tasks.map((t) => t.status), ['changed', 'changed', 'changed']);
  assert.is(treeHash(dest), before);
  assert.match(r.tasks[0].changes[0].diff ?? '', /^--- \/dev\/null\n\+\+\+ .*new-file \(after\)\n@@ -0,0 \+1,1 @@\n\+brand new\n$/);
  assert.match(r.tasks[1].changes[0].diff ?? '', /-line one\n-line 2\n-line three\n\+changed/);
  assert.equal(r.tasks[2].changes.map((c) => c.cause), ['owner differs', 'mode differs']);
});

test('the controller refuses a missing src, or both src and content, naming the task (exit 2)', async () => {
  const missing = await agent.run(copy({ src: 'files/nope.conf', dest: join(dest, 'x') }), { baseDir: book });
  assert.not.ok(missing.ok);
  if (missing.ok) return;
  assert.is(missing.error.code, 'copy.src-missing');
  assert.is(missing.error.exit, 2);
  assert.is(missing.error.where, 'playbook.yml:1:3');
  assert.match(missing.error.message, /files\/nope\.conf/);
  const both = await agent.run(copy({ src: 'files/app.conf', content: 'x', dest: join(dest, 'x') }), { baseDir: book });
  assert.is(!both.ok && both.error.code, 'copy.src-or-content');
});

test.run();
