// The helpers every module shares: modes, durations, unified diffs, atomic writes.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { writeAtomic } from '../../modules/lib/atomic-write.js';
import { contentDiff, unifiedDiff } from '../../modules/lib/diff.js';
import { parseDuration } from '../../modules/lib/duration.js';
import { formatMode, parseMode } from '../../modules/lib/mode.js';

const work = mkdtempSync(join(tmpdir(), 'berth-lib-'));
test.after(() => rmSync(work, { recursive: true, force: true }));

test('modes: octal strings, and symbolic ones relative to the current mode', () => {
  const m = (spec: string, current = 0o644, dir = false) => formatMode(parseMode(spec)!(current, dir));
  assert.is(m('0640'), '0640');
  assert.is(m('755'), '0755');
  assert.is(m('u=rw,g=r,o='), '0640');
  assert.is(m('a+x'), '0755');
  assert.is(m('g-r,o-r'), '0600');
  assert.is(m('u+X', 0o644, false), '0644', 'X leaves a plain file alone');
  assert.is(m('a+X', 0o644, true), '0755', 'X adds search permission to directories');
  assert.is(m('u+s'), '04644');
  assert.is(m('+t', 0o755, true), '01755');
  assert.is(parseMode('rw-r--r--'), undefined);
  assert.is(parseMode('0999'), undefined);
});

test('durations: units, combinations and plain seconds', () => {
  assert.is(parseDuration('30s'), 30_000);
  assert.is(parseDuration('1h30m'), 5_400_000);
  assert.is(parseDuration('500ms'), 500);
  assert.is(parseDuration(2), 2000);
  assert.is(parseDuration('1.5'), 1500);
  assert.is(parseDuration('soon'), undefined);
  assert.is(parseDuration('10s later'), undefined);
});

test('unified diffs apply with patch(1) and round-trip any edit', () => {
  let seed = 7;
  const rnd = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31), seed % n);
  const gen = () => {
    const n = rnd(25);
    const lines = Array.from({ length: n }, () => `line ${rnd(6)}`);
    return lines.join('\n') + (n && rnd(5) ? '\n' : '');
  };
  for (let i = 0; i < 100; i++) {
    const a = gen();
    const b = gen();
    const d = unifiedDiff(a, b, 'a', 'b');
    if (a === b) {
      assert.is(d, '');
      continue;
    }
    writeFileSync(join(work, 'a'), a);
    writeFileSync(join(work, 'p'), d);
    execFileSync('patch', ['-s', '-o', join(work, 'out'), join(work, 'a'), join(work, 'p')]);
    assert.is(readFileSync(join(work, 'out'), 'utf8'), b, `case ${i}:\n${d}`);
  }
});

test('a diff that would take too long (lines shuffled among few values) is one line, at once', () => {
  const a = Array.from({ length: 20_000 }, (_, i) => `v${i % 50}`).join('\n') + '\n';
  const b = Array.from({ length: 20_000 }, (_, i) => `v${(i * 7) % 50}`).join('\n') + '\n';
  const t0 = performance.now();
  assert.is(unifiedDiff(a, b, '/f (before)', '/f (after)'), '/f: diff too large to show (20000 -> 20000 lines)\n');
  assert.ok(performance.now() - t0 < 10_000);
});

test('diffs of binary or large content are one line', () => {
  assert.match(contentDiff('/f', Buffer.from('text\n'), Buffer.from([0, 1, 2])), /^\/f: binary file, diff not shown \(5 bytes -> 3 bytes\)\n$/);
  assert.match(contentDiff('/f', null, Buffer.alloc(300 * 1024, 'a')), /large file/);
  assert.is(contentDiff('/f', Buffer.from('héllo\n'), Buffer.from('héllo\n')), '');
});

test('atomic writes set mode and owner before the rename and leave no temp file on failure', async () => {
  const f = join(work, 'atomic');
  writeFileSync(f, 'old');
  const r = await writeAtomic(f, { data: 'new content' }, { mode: 0o600, uid: 65534, gid: 65534 });
  assert.ok(r.ok);
  assert.is(readFileSync(f, 'utf8'), 'new content');
  assert.is(statSync(f).mode & 0o7777, 0o600);
  assert.is(statSync(f).uid, 65534);
  const bad = await writeAtomic(join(work, 'atomic'), { file: join(work, 'no-such-source') }, { mode: 0o644 });
  assert.not.ok(bad.ok);
  assert.is(readFileSync(f, 'utf8'), 'new content', 'the old file is untouched');
  assert.equal(readdirSync(work).filter((n) => n.includes('.berth-')), []);
});

test.run();
