// A reload is confirmed by the new worker haproxy's master forks, and signalled again when the
// master lost the signal (agent/ambassador/confirm-reload.ts). A stand-in master, a real process:
// it drops the first SIGUSR2 as haproxy 2.6 drops one that lands while it re-executes itself,
// and forks a worker on the second. (tests/rollout.test.ts drains through a real haproxy.)
import { spawn, type ChildProcess } from 'node:child_process';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { childrenOf, reloadConfirmed } from '../agent/ambassador/confirm-reload.js';

const MASTER = `
let n = 0;
const workers = [];
process.on('SIGUSR2', () => {
  n += 1;
  if (n > Number(process.argv[1])) workers.push(require('node:child_process').spawn('sleep', ['30'], { stdio: 'ignore' }));
});
process.on('SIGTERM', () => { for (const w of workers) w.kill(); process.exit(0); });
console.log('ready');
setInterval(() => {}, 1000);
`;

const masters: ChildProcess[] = [];
async function master(lost: number): Promise<number> {
  const m = spawn(process.execPath, ['-e', MASTER, String(lost)], { stdio: ['ignore', 'pipe', 'inherit'] });
  masters.push(m);
  await new Promise((r) => m.stdout!.once('data', r));
  return m.pid!;
}

test.after(() => {
  for (const m of masters) m.kill('SIGTERM');
});

const signal = (pid: number) => async () => void process.kill(pid, 'SIGUSR2');

test('a reload the master answers at once takes one signal; childrenOf sees its new worker', async () => {
  const pid = await master(0);
  assert.equal([...childrenOf(pid)], []);
  assert.is(await reloadConfirmed(pid, signal(pid), { waitMs: 2000, attempts: 3 }), 1);
  assert.is(childrenOf(pid).size, 1);
});

test('a lost signal is sent again until a new worker shows up', async () => {
  const pid = await master(1);
  assert.is(await reloadConfirmed(pid, signal(pid), { waitMs: 300, attempts: 3 }), 2);
  assert.is(childrenOf(pid).size, 1);
  // The next reload is confirmed by a worker it did not have before, not by the one it has.
  assert.is(await reloadConfirmed(pid, signal(pid), { waitMs: 2000, attempts: 3 }), 1);
  assert.is(childrenOf(pid).size, 2);
});

test('a master that never forks: 0 after the attempts, not a hang', async () => {
  const pid = await master(99);
  const t0 = Date.now();
  assert.is(await reloadConfirmed(pid, signal(pid), { waitMs: 200, attempts: 3 }), 0);
  assert.ok(Date.now() - t0 < 2000);
});

test.run();
