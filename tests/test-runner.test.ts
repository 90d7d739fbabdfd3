// The test runner (scripts/test.mjs) on fixture test files in temp dirs (BERTH_TEST_DIR, so the
// real runner never picks them up and no build runs): its closing `N passed, N failed` line and
// its exit code must not be fooled by skips, `.only`, a filter that matches nothing, a throwing
// hook, a file that dies, or a suite that is never run.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';

const root = new URL('..', import.meta.url).pathname;
const dirs: string[] = [];

/** A folder of test files; an ES package with node_modules linked in, like the real tests. */
function fixtures(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'berth-runner-'));
  dirs.push(dir);
  symlinkSync(join(root, 'node_modules'), join(dir, 'node_modules'), 'dir');
  writeFileSync(join(dir, 'package.json'), '{ "type": "module" }\n');
  for (const [name, body] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, name)), { recursive: true });
    writeFileSync(join(dir, name), `import { test, suite } from 'uvu';\nimport * as assert from 'uvu/assert';\nvoid suite; void assert;\n${body}\n`);
  }
  return dir;
}

interface Run { code: number | null; out: string; closing: { passed: number; failed: number; skipped: number } | undefined }

function runner(dir: string, args: string[] = [], env: Record<string, string> = {}): Run {
  // CI is cleared unless a case sets it: the runner's own CI run must not change what it sees.
  const r = spawnSync(process.execPath, [join(root, 'scripts/test.mjs'), ...args], {
    cwd: root,
    env: { ...process.env, CI: '', BERTH_TEST_DIR: dir, ...env },
    encoding: 'utf8',
    timeout: 120_000,
  });
  const out = (r.stdout + r.stderr).replace(/\x1b\[[0-9;]*m/g, '');
  const last = r.stdout.trimEnd().split('\n').pop() ?? '';
  const m = /^(\d+) passed, (\d+) failed(?:, (\d+) skipped)?$/.exec(last);
  const closing = m ? { passed: Number(m[1]), failed: Number(m[2]), skipped: Number(m[3] ?? 0) } : undefined;
  return { code: r.status, out, closing };
}

const show = (r: Run) => `exit ${r.code}\n${r.out}`;

test('a failing test beside a file with test.skip: exit non-zero and 1 failed', () => {
  const dir = fixtures({
    'fails.test.ts': `test('passes', () => {});\ntest('fails', () => { assert.is(1, 2); });\ntest.run();`,
    'skips.test.ts': `test('passes too', () => {});\ntest.skip('not today', () => {});\ntest.run();`,
  });
  const r = runner(dir);
  assert.equal(r.closing, { passed: 2, failed: 1, skipped: 1 }, show(r));
  assert.is.not(r.code, 0, show(r));
  assert.match(r.out, /fails\.test\.ts.*\n.*fails/, show(r));
});

test('.only fails the run under CI, and is reported loudly without it', () => {
  const dir = fixtures({
    // `.only` spelt in two pieces: this is a fixture's text, and a grep for stray ones must not find it here.
    'focus.test.ts': `test${'.'}only('focused', () => {});\nfor (const n of [1, 2, 3]) test('other ' + n, () => { throw new Error('never runs'); });\ntest.run();`,
  });
  const ci = runner(dir, [], { CI: 'true' });
  assert.is.not(ci.code, 0, show(ci));
  assert.ok(ci.closing && ci.closing.failed >= 1, show(ci));
  assert.match(ci.out, /\.only.*focus\.test\.ts|focus\.test\.ts.*\.only/, show(ci));
  const local = runner(dir);
  assert.is(local.code, 0, show(local));
  assert.equal(local.closing, { passed: 1, failed: 0, skipped: 3 }, show(local));
  assert.match(local.out, /\.only.*focus\.test\.ts|focus\.test\.ts.*\.only/, show(local));
});

test('a filter that matches no file fails', () => {
  const dir = fixtures({ 'fine.test.ts': `test('fine', () => {});\ntest.run();` });
  const r = runner(dir, ['no-such-file']);
  assert.is.not(r.code, 0, show(r));
  assert.ok(r.closing && r.closing.failed >= 1, show(r));
  assert.match(r.out, /no-such-file/, show(r));
});

test('a throwing before hook prints its error and the file, and fails every test it stopped', () => {
  const dir = fixtures({
    'hooked.test.ts': `test.before(() => { throw new Error('the seed data exploded'); });\nfor (const n of [1, 2, 3]) test('t' + n, () => {});\ntest.run();`,
  });
  const r = runner(dir);
  assert.is.not(r.code, 0, show(r));
  assert.equal(r.closing, { passed: 0, failed: 3, skipped: 0 }, show(r));
  assert.match(r.out, /hooked\.test\.ts.*\n?.*the seed data exploded/, show(r));
});

test('a file that dies part-way or never runs a suite counts as failed', () => {
  const dir = fixtures({
    'dies.test.ts': `test('one', () => {});\ntest('two', async () => { process.exit(0); });\ntest('three', () => {});\ntest.run();`,
    'unrun.test.ts': `const s = suite('forgotten');\ns('never run', () => {});\ntest('runs', () => {});\ntest.run();`,
    'empty.test.ts': `// no tests at all`,
  });
  const r = runner(dir);
  assert.is.not(r.code, 0, show(r));
  // dies: one passed, two never finished; unrun: one passed, one never run; empty: one.
  assert.equal(r.closing, { passed: 2, failed: 4, skipped: 0 }, show(r));
});

test('all-passing files: exit 0 and the right count', () => {
  const dir = fixtures({
    'a.test.ts': `test('a1', () => {});\ntest('a2', async () => { await new Promise((r) => setTimeout(r, 5)); });\ntest.run();`,
    'nested/b.test.ts': `const s = suite('b');\nfor (const n of [1, 2, 3]) s('b' + n, () => { assert.ok(true); });\ns.run();`,
  });
  const r = runner(dir);
  assert.is(r.code, 0, show(r));
  assert.equal(r.closing, { passed: 5, failed: 0, skipped: 0 }, show(r));
  const only = runner(dir, ['nested']);
  assert.equal(only.closing, { passed: 3, failed: 0, skipped: 0 }, show(only));
});

test.after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

test.run();
