// The test command: builds berth, runs every tests/**/*.test.ts file in its own process (a file
// shares its lab hosts between its tests; files share nothing), and ends with the line
// `N passed, N failed` that CI reads. `npm test -- lab ssh` runs only files whose path matches.
import { spawn } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join, relative, resolve as resolvePath } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const filters = process.argv.slice(2);
// BERTH_TEST_DIR points the runner at another folder of test files (the runner's own tests use
// fixture files in a temp dir); those need no bundles, so the build is skipped.
const testDir = process.env.BERTH_TEST_DIR ? resolvePath(process.env.BERTH_TEST_DIR) : join(root, 'tests');
const FILE_TIMEOUT_MS = 20 * 60 * 1000;

function findTests(dir) {
  return readdirSync(dir)
    .sort()
    .flatMap((name) => {
      const p = join(dir, name);
      if (statSync(p).isDirectory()) return name === 'fixtures' ? [] : findTests(p);
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
    }, FILE_TIMEOUT_MS);
    child.stdout.on('data', (d) => { out += d; process.stdout.write(d); });
    child.stderr.on('data', (d) => { out += d; process.stderr.write(d); });
    child.on('close', (code) => { clearTimeout(timer); resolve({ code, out }); });
  });

if (!process.env.BERTH_TEST_DIR) {
  const built = await run([process.execPath, 'scripts/build.mjs']);
  if (built.code !== 0) {
    console.log('build failed\n0 passed, 1 failed');
    process.exit(1);
  }
}

const files = findTests(testDir).filter((f) => filters.length === 0 || filters.some((x) => f.includes(x)));
let passed = 0;
let failed = 0;
let skipped = 0;
const broken = [];
const started = Date.now();
for (const file of files) {
  const rel = relative(root, file);
  const t0 = Date.now();
  process.stdout.write(`\n=== ${rel}\n`);
  const { code, out } = await run([process.execPath, '--import', 'tsx', file]);
  const plain = out.replace(/\x1b\[[0-9;]*m/g, '');
  const total = Number(/Total:\s+(\d+)/.exec(plain)?.[1] ?? NaN);
  const ok = Number(/Passed:\s+(\d+)/.exec(plain)?.[1] ?? NaN);
  const skip = Number(/Skipped:\s+(\d+)/.exec(plain)?.[1] ?? 0);
  if (Number.isNaN(total) || Number.isNaN(ok)) {
    failed += 1;
    broken.push(`${rel} (exit ${code}, no uvu summary)`);
  } else {
    passed += ok;
    skipped += skip;
    failed += total - ok - skip;
    if (total - ok - skip > 0 || code !== 0) broken.push(`${rel} (exit ${code})`);
    if (code !== 0 && total - ok - skip === 0) failed += 1;
  }
  process.stdout.write(`=== ${rel}: ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
}
console.log(`\n${files.length} test files in ${((Date.now() - started) / 1000).toFixed(0)} s`);
if (broken.length) console.log(`failing files:\n  ${broken.join('\n  ')}`);
console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
process.exit(failed > 0 ? 1 : 0);
