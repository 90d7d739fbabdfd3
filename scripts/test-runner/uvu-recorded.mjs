// uvu, as test files import it under scripts/test.mjs, with each test's outcome recorded. uvu's
// own totals cannot be trusted for counting: its Total leaves out skips, `.only` turns the other
// tests into skips, and a throwing before/after hook (or after.each) is swallowed without a word.
// So every test is recorded as it is registered (pending), and its handler and the hooks around it
// mark it passed or failed; whatever is still pending when the process exits did not run. The
// records go to the JSON file named by BERTH_TEST_RESULT when the process exits.
import { writeFileSync } from 'node:fs';
import * as uvu from 'uvu';

export { exec } from 'uvu';

const file = process.env.BERTH_TEST_FILE || process.argv[1];
/** One per run of a suite: the tests and hooks registered before its `.run()`. */
const batches = [];
const hookErrors = [];

const firstLine = (e) => (e instanceof Error ? e.message : String(e)).split('\n')[0].slice(0, 300);

/** A before/after hook failure, printed at once with the file: uvu itself says nothing of it. */
function hookFailed(batch, hook, e) {
  hookErrors.push({ suite: batch.suite, hook, error: firstLine(e) });
  const of = batch.suite ? ` of suite "${batch.suite}"` : '';
  process.stderr.write(`\n✘ ${hook} hook${of} in ${file} threw: ${e instanceof Error ? e.stack : String(e)}\n`);
}

function recorded(real, suiteName) {
  let batch;
  const fresh = () => {
    batch = { suite: suiteName, tests: [], before: [], after: [], beforeEach: [], afterEach: [], queued: false, finished: false };
    batches.push(batch);
  };
  fresh();

  const add = (name, kind) => {
    const rec = { name: String(name ?? ''), kind, status: kind === 'skip' ? 'skip' : 'pending' };
    batch.tests.push(rec);
    return rec;
  };
  const handler = (rec, fn) => async (state) => {
    rec.status = 'running';
    try {
      await fn(state);
      rec.status = 'pass';
    } catch (e) {
      rec.status = 'fail';
      rec.error = firstLine(e);
      throw e;
    }
  };

  const t = (name, fn) => real(name, handler(add(name, 'test'), fn));
  t.only = (name, fn) => real.only(name, handler(add(name, 'only'), fn));
  t.skip = (name) => {
    add(name, 'skip');
    real.skip(name);
  };
  t.before = (fn) => void batch.before.push(fn);
  t.before.each = (fn) => void batch.beforeEach.push(fn);
  t.after = (fn) => void batch.after.push(fn);
  t.after.each = (fn) => void batch.afterEach.push(fn);
  t.run = () => {
    install(real, batch);
    real.run();
    fresh();
  };
  return t;
}

/**
 * The user's hooks of one suite run, behind one hook of each kind that keeps the books: uvu runs
 * before.each once per test in order, so a cursor over that order names the current test.
 */
function install(real, b) {
  b.queued = true;
  const only = b.tests.some((r) => r.kind === 'only');
  // uvu runs only the `.only` tests of a suite that has any: the others are skipped.
  if (only) for (const r of b.tests) if (r.kind === 'test') Object.assign(r, { status: 'skip', reason: '.only' });
  const order = b.tests.filter((r) => r.kind === (only ? 'only' : 'test'));
  let cursor = -1;
  let current;
  const failCurrent = (hook, e) => {
    if (current) Object.assign(current, { status: 'fail', error: `${hook} hook: ${firstLine(e)}` });
  };
  real.before(async (state) => {
    for (const fn of b.before) {
      try {
        await fn(state);
      } catch (e) {
        hookFailed(b, 'before', e);
        throw e;
      }
    }
  });
  real.before.each(async (state) => {
    current = order[++cursor];
    for (const fn of b.beforeEach) {
      try {
        await fn(state);
      } catch (e) {
        failCurrent('before.each', e);
        throw e;
      }
    }
  });
  real.after.each(async (state) => {
    for (const fn of b.afterEach) {
      try {
        await fn(state);
      } catch (e) {
        failCurrent('after.each', e);
        hookFailed(b, 'after.each', e);
        throw e;
      }
    }
  });
  real.after(async (state) => {
    for (const fn of b.after) {
      try {
        await fn(state);
      } catch (e) {
        hookFailed(b, 'after', e);
        throw e;
      }
    }
    b.finished = true;
  });
}

export const test = recorded(uvu.test, '');
export const suite = (name = '', state = {}) => recorded(uvu.suite(name, state), name);

process.on('exit', () => {
  // Only the test file's own process answers: a process it starts inherits the environment.
  if (!process.env.BERTH_TEST_RESULT || String(process.ppid) !== process.env.BERTH_TEST_RUNNER_PID) return;
  const used = batches.filter((b) => b.queued || b.tests.length > 0);
  const out = used.map(({ suite, tests, queued, finished }) => ({ suite, tests, queued, finished }));
  writeFileSync(process.env.BERTH_TEST_RESULT, JSON.stringify({ file, batches: out, hookErrors }));
});
