// The controller's debug log (internal errors' stack traces) is the operator's own file: in their
// state directory, mode 0600, never a fixed path in the shared /tmp that another user could have
// created first.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { writeDebugLog } from '../cli/crash.js';
import { action } from '../cli/run-action.js';

const work = mkdtempSync(join(tmpdir(), 'berth-debug-log-'));
const state = join(work, 'state', 'berth');
const shared = join(work, 'tmp');
mkdirSync(shared);
const saved = { state: process.env.BERTH_STATE_DIR, tmp: process.env.TMPDIR, exitCode: process.exitCode };
process.env.BERTH_STATE_DIR = state;
// Where os.tmpdir() points: the old code wrote <tmpdir>/berth/debug.log.
process.env.TMPDIR = shared;

const mode = (p: string) => (statSync(p).mode & 0o777).toString(8);

test('an internal error is logged in the state directory, 0600, and the hint names that file', async () => {
  let stderr = '';
  const write = process.stderr.write.bind(process.stderr);
  process.stderr.write = ((s: string) => ((stderr += s), true)) as typeof process.stderr.write;
  try {
    await action(async () => {
      throw new Error('boom from a test');
    })();
  } finally {
    process.stderr.write = write;
  }
  const log = join(state, 'debug.log');
  assert.ok(existsSync(log), `no log at ${log}; stderr: ${stderr}`);
  assert.match(readFileSync(log, 'utf8'), /Error: boom from a test\n\s+at /);
  assert.is(mode(log), '600');
  assert.is(mode(state), '700');
  assert.ok(stderr.includes(`details are in ${log}`), stderr);
  assert.not.ok(existsSync(join(shared, 'berth')), 'nothing under the shared temporary directory');
});

test('the crash handler writes the same log, and narrows one an older berth left readable', () => {
  const log = join(state, 'debug.log');
  writeFileSync(log, 'old entry\n', { mode: 0o644 });
  assert.is(writeDebugLog('uncaught', new Error('late')), log);
  assert.is(mode(log), '600');
  assert.match(readFileSync(log, 'utf8'), /^old entry\n.* uncaught: Error: late/);
});

test.after(() => {
  process.env.BERTH_STATE_DIR = saved.state;
  if (saved.tmp === undefined) delete process.env.TMPDIR;
  else process.env.TMPDIR = saved.tmp;
  process.exitCode = saved.exitCode;
  rmSync(work, { recursive: true, force: true });
});

test.run();
