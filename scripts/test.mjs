// The test command: builds berth, runs every tests/**/*.test.ts file in its own process (a file
// shares its lab hosts between its tests; files share nothing), and ends with the line
// `N passed, N failed` that CI reads. `npm test -- lab ssh` runs only files whose path matches.
// Counts come from each test's own record (test-runner/uvu-recorded.mjs, preloaded into every
// file), not from uvu's printed totals. A stray `.only` fails the run when CI is set.
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve as resolvePath } from 'node:path';
import { pathToFileURL } from 'node:url';
import { tally } from './test-runner/tally.mjs';

const root = new URL('..', import.meta.url).pathname;
const filters = process.argv.slice(2);
// BERTH_TEST_DIR points the runner at another folder of test files (the runner's own tests use
// fixture files in a temp dir); those need no bundles, so the build is skipped.
const testDir = process.env.BERTH_TEST_DIR ? resolvePath(process.env.BERTH_TEST_DIR) : join(root, 'tests');
const ci = !!process.env.CI && !['0', 'false'].includes(process.env.CI.toLowerCase());
const FILE_TIMEOUT_MS = 20 * 60 * 1000;
const KILL_GRACE_MS = 30 * 1000;
const recorder = pathToFileURL(join(root, 'scripts/test-runner/register.mjs')).href;

function findTests(dir) {
  return readdirSync(dir)
    .sort()
    .flatMap((name) => {
      const p = join(dir, name);
      if (statSync(p).isDirectory()) return name === 'fixtures' || name === 'node_modules' ? [] : findTests(p);
      return name.endsWith('.test.ts') ? [p] : [];
    });
}

const run = (argv, opts = {}) =>
  new Promise((resolve) => {
    const child = spawn(argv[0], argv.slice(1), { cwd: root, stdio: ['ignore', 'pipe', 'pipe'], ...opts });
    let out = '';
    const timer = setTimeout(() => {
      out += `\n[test runner] timed out after ${FILE_TIMEOUT_MS / 60000} minutes\n`;
      child.kill('SIGTERM');
      setTimeout(() => child.kill('SIGKILL'), KILL_GRACE_MS).unref();
    }, FILE_TIMEOUT_MS);
    child.stdout.on('data', (d) => { out += d; process.stdout.write(d); });
    child.stderr.on('data', (d) => { out += d; process.stderr.write(d); });
    child.on('close', (code, signal) => { clearTimeout(timer); resolve({ code, signal, out }); });
  });

function finish(passed, failed, skipped) {
  console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
  process.exit(failed > 0 ? 1 : 0);
}

if (!process.env.BERTH_TEST_DIR) {
  const built = await run([process.execPath, 'scripts/build.mjs']);
  if (built.code !== 0) {
    console.log('build failed');
    finish(0, 1, 0);
  }
}

const nameOf = (file) => (file.startsWith(root) ? relative(root, file) : relative(testDir, file));
const files = findTests(testDir).filter((f) => filters.length === 0 || filters.some((x) => nameOf(f).includes(x)));
if (files.length === 0) {
  console.log(filters.length ? `no test file matches ${filters.map((x) => `"${x}"`).join(' or ')} (in ${testDir})` : `no test files in ${testDir}`);
  finish(0, 1, 0);
}

const results = mkdtempSync(join(tmpdir(), 'berth-test-results-'));
let passed = 0;
let failed = 0;
let skipped = 0;
const broken = [];
const focused = [];
const started = Date.now();
for (const [i, file] of files.entries()) {
  const rel = nameOf(file);
  const resultFile = join(results, `${i}.json`);
  const t0 = Date.now();
  process.stdout.write(`\n=== ${rel}\n`);
  const ended = await run([process.execPath, '--import', 'tsx', '--import', recorder, file], {
    env: { ...process.env, BERTH_TEST_FILE: rel, BERTH_TEST_RESULT: resultFile, BERTH_TEST_RUNNER_PID: String(process.pid) },
  });
  let result;
  try {
    result = JSON.parse(readFileSync(resultFile, 'utf8'));
  } catch {
    result = undefined;
  }
  const t = tally(result, ended);
  passed += t.passed;
  failed += t.failed;
  skipped += t.skipped;
  if (t.failed > 0) broken.push(`${rel} (${t.failed} failed)\n    ${t.reasons.join('\n    ')}`);
  if (t.only.length) focused.push(`${rel}: test.only ${t.only.map((n) => `"${n}"`).join(', ')}`);
  process.stdout.write(`=== ${rel}: ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
}
rmSync(results, { recursive: true, force: true });

console.log(`\n${files.length} test files in ${((Date.now() - started) / 1000).toFixed(0)} s`);
if (focused.length) {
  // Loud either way: a `.only` left in a file silently skips the rest of it.
  const line = '!'.repeat(72);
  console.log(`${line}\n.only in ${focused.length} file(s); every other test there was skipped${ci ? ' (CI: this fails the run)' : ''}:\n  ${focused.join('\n  ')}\n${line}`);
  if (ci) failed += focused.length;
}
if (broken.length) console.log(`failing files:\n  ${broken.join('\n  ')}`);
finish(passed, failed, skipped);
