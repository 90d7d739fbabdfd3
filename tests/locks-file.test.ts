// The host lock file on its own (agent/lock/host-lock.ts), in a temp dir: taken once, refused to
// others, renewed and released only by its run, stale when expired or when its agent is gone,
// and taken over by exactly one of many processes racing for it.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { acquireHostLock, hostLockStatus, processStart, releaseHostLock, renewHostLock } from '../agent/lock/host-lock.js';
import type { LockOwner } from '../protocol/agent-protocol.js';
import { lockOwner } from '../controller/run/locks.js';
import { runOrigin } from '../controller/run/origin.js';

const root = new URL('..', import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'berth-lock-file-'));
let n = 0;
const path = () => join(dir, `lock-${++n}.json`);
const owner = (runId: string): LockOwner => ({ holder: 'alice@ctl', pid: 42, runId, command: 'apply', reason: 'test' });
const answer = (r: ReturnType<typeof acquireHostLock>) => {
  if (!r.ok) throw new Error(r.error.message);
  return r.answer;
};

test('the first run takes the lock; another is answered with the holder; the same run again renews it', () => {
  const p = path();
  const a = answer(acquireHostLock(owner('r1'), 60_000, p));
  assert.is(a.done, true);
  assert.is(a.lock!.agentPid, process.pid);
  assert.is(a.lock!.agentStart, processStart(process.pid));
  const b = answer(acquireHostLock(owner('r2'), 60_000, p));
  assert.is(b.done, false);
  assert.is(b.lock!.runId, 'r1');
  const again = answer(acquireHostLock(owner('r1'), 60_000, p));
  assert.is(again.done, true);
  assert.is(again.lock!.time, a.lock!.time, 'taken when it was first taken');
});

test('only its run renews or releases it; force releases anyone\'s and says whose', () => {
  const p = path();
  answer(acquireHostLock(owner('r1'), 60_000, p));
  const other = renewHostLock('r2', 60_000, p);
  assert.is(other.ok, false);
  assert.is(!other.ok && other.error.code, 'lock.lost');
  assert.ok(renewHostLock('r1', 90_000, p).ok);
  assert.is(answer(releaseHostLock({ runId: 'r2' }, p)).done, false);
  assert.is(answer(hostLockStatus(p)).lock!.runId, 'r1');
  const forced = answer(releaseHostLock({ force: true }, p));
  assert.is(forced.done, true);
  assert.is(forced.previous!.runId, 'r1');
  assert.is(answer(hostLockStatus(p)).lock, null);
});

test('an expired lock is stale and taken over, naming the old one; a late renewal of it is refused', () => {
  const p = path();
  answer(acquireHostLock(owner('old'), 1000, p));
  const lock = JSON.parse(readFileSync(p, 'utf8'));
  writeFileSync(p, JSON.stringify({ ...lock, expiresAt: new Date(Date.now() - 1).toISOString() }));
  assert.is(answer(hostLockStatus(p)).stale, true);
  const late = renewHostLock('old', 60_000, p);
  assert.is(!late.ok && late.error.code, 'lock.lost');
  const t = answer(acquireHostLock(owner('new'), 60_000, p));
  assert.is(t.done, true);
  assert.is(t.previous!.runId, 'old');
});

test('a lock whose agent is gone is stale before its expiry; an unreadable one does not block forever', () => {
  const p = path();
  const now = Date.now();
  // A pid that ran once: its start time no longer matches (pid reuse is caught the same way).
  writeFileSync(p, JSON.stringify({ ...owner('dead'), time: new Date(now).toISOString(), expiresAt: new Date(now + 3600_000).toISOString(), agentPid: process.pid, agentStart: '1' }));
  assert.is(answer(hostLockStatus(p)).stale, true);
  assert.is(answer(acquireHostLock(owner('next'), 60_000, p)).previous!.runId, 'dead');
  const q = path();
  writeFileSync(q, '{ half');
  const t = answer(acquireHostLock(owner('after-garbage'), 60_000, q));
  assert.is(t.done, true);
});

test('many processes racing to take over one stale lock: exactly one gets it', async () => {
  const p = path();
  const past = new Date(Date.now() - 60_000).toISOString();
  writeFileSync(p, JSON.stringify({ ...owner('stale'), time: past, expiresAt: past }));
  const go = join(dir, 'go');
  const script = join(dir, 'race.ts');
  writeFileSync(
    script,
    `import { existsSync } from 'node:fs';
import { acquireHostLock } from ${JSON.stringify(join(root, 'agent/lock/host-lock.ts'))};
const [path, runId, go] = process.argv.slice(2);
process.stdout.write('ready\\n');
while (!existsSync(go)) {} // all start together
const r = acquireHostLock({ holder: 'x@y', pid: process.pid, runId, command: 'apply' }, 60_000, path);
process.stdout.write(JSON.stringify(r.ok ? { done: r.answer.done, holder: r.answer.lock && r.answer.lock.runId } : r.error) + '\\n');
// Stay up until told: a winner that left would leave a lock whose agent is gone (stale).
setInterval(() => {}, 1000);`,
  );
  const racers = Array.from({ length: 8 }, (_, i) => {
    const c = spawn(process.execPath, ['--import', 'tsx', script, p, `racer-${i}`, go], { cwd: root });
    let out = '';
    const ready = new Promise<void>((r) => c.stdout.on('data', (d) => ((out += d), out.includes('ready') && r())));
    const result = new Promise<{ done: boolean; holder: string }>((resolve, reject) => {
      c.stdout.on('data', () => {
        const line = out.split('\n').find((l) => l.startsWith('{'));
        if (line) resolve(JSON.parse(line));
      });
      c.on('close', () => reject(new Error(`racer ${i} left: ${out}`)));
    });
    return { c, ready, result };
  });
  try {
    await Promise.all(racers.map((r) => r.ready));
    writeFileSync(go, '');
    const runs = await Promise.all(racers.map((r) => r.result));
    const winners = runs.filter((r) => r.done);
    assert.is(winners.length, 1, JSON.stringify(runs));
    const holder = JSON.parse(readFileSync(p, 'utf8')).runId;
    for (const r of runs.filter((x) => !x.done)) assert.is(r.holder, holder, 'the others are told who won');
  } finally {
    for (const r of racers) r.c.kill();
  }
});

test('a run\'s deploy locks carry the run id its releases record, so `berth lock status` and `berth releases` name the same run', () => {
  const owner = lockOwner('apply', { playbook: 'demo' });
  const origin = runOrigin(join(root, 'playbooks/demo.yml'));
  assert.match(owner.runId, /^[0-9a-f-]{36}$/);
  assert.is(owner.runId, origin.runId);
  assert.is(lockOwner('run').runId, owner.runId, 'one controller process, one run');
});

test.after(() => rmSync(dir, { recursive: true, force: true }));

test.run();
