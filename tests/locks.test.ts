// Deploy locks on 2 lab hosts over real SSH, with the real CLI: one run at a time converges a host.
// A second apply is refused before it changes anything on any host, naming the holder; locks are
// free after a run, after Ctrl-C, and once a SIGKILLed controller's agents finished their last
// task; a run gone with its agents leaves stale locks, and a suspended controller's locks expire
// (the hosts stop its run): the next apply takes them over with a warning. `berth lock release
// --force` removes one; `berth plan` only warns. With an etcd registry (Debian's etcd-server on
// the lab network's gateway), the playbook's fleet lock refuses a second controller aimed at
// other hosts.
import { execFile, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Etcd3 } from 'etcd3';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { networkName } from '../providers/lab/names.js';
import { berth, type Ev, type Run } from './helpers/berth-cli.js';
import { startEtcd } from './helpers/etcd.js';
import { sshLabSync, startLab, type LabHost, type TestLab } from './helpers/lab.js';

let lab: TestLab;
const holder = `${os.userInfo().username}@${os.hostname()}`;
const ssh = (host: LabHost, cmd: string) => sshLabSync(lab, host, cmd);
const exists = (host: LabHost, path: string) => ssh(host, `test -e ${path} && echo yes || echo no`) === 'yes';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** A short TTL (tests only): a dead controller's lock goes stale in seconds, not minutes. */
const SHORT_TTL = { BERTH_LOCK_TTL_MS: '3000' };

function playbook(name: string, yaml: string): string {
  const path = join(lab.dir, `${name}.yml`);
  writeFileSync(path, yaml);
  return path;
}

/**
 * A run whose task waits until the test opens its gate (a file on the host; 60 s at most): the
 * test, not the machine's load, decides how long the run holds its locks.
 */
const slow = (name: string) =>
  playbook(name, `name: ${name}\nplays:\n  - hosts: all\n    tasks:\n      - command: [sh, -c, "for i in $(seq 300); do [ -e /tmp/${name}-go ] && break; sleep 0.2; done; touch /tmp/${name}-done"]\n`);
const openGate = (name: string) => {
  for (const h of lab.hosts) ssh(h, `touch /tmp/${name}-go`);
};
const touch = (name: string) => playbook(name, `name: ${name}\nplays:\n  - hosts: all\n    tasks:\n      - command: [touch, /tmp/${name}-ran]\n`);

/** Runs started by a test: the next test starts once they ended and no lock is left behind. */
const running: Array<Promise<Run>> = [];

async function agentGone(h: LabHost, withinMs: number): Promise<boolean> {
  const end = Date.now() + withinMs;
  while (Date.now() < end) {
    // The bracket keeps pgrep's own command line from matching.
    if (ssh(h, "pgrep -f '[b]erth/agent/' || true") === '') return true;
    await sleep(250);
  }
  return false;
}

/** Starts `berth apply` and resolves once its first task began, with the run's promise. */
function startSlow(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ pid: number; done: Promise<Run>; kill: (sig: NodeJS.Signals) => void }> {
  return new Promise((resolve, reject) => {
    let child: ReturnType<typeof spawn> | undefined;
    let started = false;
    const done = berth(args, {
      env,
      onEvent: (e, c) => {
        child = c;
        if (e.type === 'task-start' && !started) {
          started = true;
          resolve({ pid: c.pid!, done, kill: (sig) => child!.kill(sig) });
        }
      },
    });
    running.push(done);
    void done.then((r) => {
      if (!started) reject(new Error(`the slow run ended before its first task: exit ${r.code}\n${r.stderr}\n${r.stdout}`));
    });
  });
}

async function status(extra: string[] = []): Promise<Record<string, any>> {
  const r = await berth(['lock', 'status', '-i', lab.inventoryPath, '--json', ...extra]);
  assert.is(r.code, 0, r.stderr);
  return Object.fromEntries(r.stdout.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l)).map((x) => [x.host && !x.fleet ? x.host : `fleet:${x.fleet}`, x]));
}

const failures = (r: Run): Ev[] => r.events.filter((e) => e.type === 'host-failed');
const warnings = (r: Run, code: string): Ev[] => r.events.filter((e) => e.type === 'warning' && e.code === code);

function foreignLock(host: LabHost, expiresInMs: number): void {
  const now = Date.now();
  const lock = { holder: 'ops@elsewhere', pid: 4242, runId: 'r-foreign', command: 'apply', playbook: 'other', reason: 'db migration', time: new Date(now - 60_000).toISOString(), expiresAt: new Date(now + expiresInMs).toISOString() };
  ssh(host, `mkdir -p /var/lib/berth && echo '${JSON.stringify(lock)}' > /var/lib/berth/lock.json`);
}

test.before(async () => {
  lab = await startLab({ name: 'locks', hosts: 2 });
});

// A failed test must not leave its slow run or a lock to the next one.
test.after.each(async () => {
  await Promise.all(running.splice(0));
  for (const h of lab.hosts) ssh(h, 'rm -f /var/lib/berth/lock.json');
});

test('a second apply while one runs is refused before it changes any host, naming the holder (exit 1)', async () => {
  const [h1, h2] = lab.hosts;
  const first = await startSlow(['apply', slow('first'), '-i', lab.inventoryPath, '--limit', 'h1', '--json', '--lock-reason', 'release 1.3']);
  // The second targets both hosts: h1 is held, so h2 is not touched either.
  const second = await berth(['apply', touch('second'), '-i', lab.inventoryPath, '--json']);
  assert.is(second.code, 1, second.stderr + second.stdout);
  const refused = failures(second);
  assert.equal(refused.map((e) => [e.host, e.error.code]), [['h1', 'lock.held']]);
  const msg: string = refused[0].error.message;
  assert.ok(msg.includes(`held by ${holder} (pid ${first.pid}, apply of first)`), msg);
  assert.match(msg, /since \d{4}-\d\d-\d\dT[\d:.]+Z \(\d+s ago\), reason "release 1\.3", expires in \S+ unless renewed/);
  assert.match(refused[0].error.hint, /berth lock release --force --limit h1/);
  assert.is(second.events.filter((e) => e.type === 'task-start').length, 0, 'no task ran anywhere');
  assert.not.ok(exists(h1, '/tmp/second-ran'));
  assert.not.ok(exists(h2, '/tmp/second-ran'));
  assert.is(second.events.find((e) => e.type === 'run-end')?.exitCode, 1);

  // The plain output says the same to a person.
  const plain = await berth(['apply', touch('second'), '-i', lab.inventoryPath]);
  assert.is(plain.code, 1);
  assert.match(plain.stdout, /h1\s+FAILED deploy lock is held by .*reason "release 1\.3"/);
  assert.match(plain.stdout, /hint: wait for that run to end, or, if it is gone, `berth lock release --force --limit h1`/);

  // While the first runs: h1 held by it with its reason, h2 free again (the second gave it back).
  const s = await status();
  assert.is(s.h1.state, 'held');
  assert.equal([s.h1.lock.holder, s.h1.lock.pid, s.h1.lock.reason, s.h1.lock.command], [holder, first.pid, 'release 1.3', 'apply']);
  assert.is(s.h2.state, 'free');
  const table = await berth(['lock', 'status', '-i', lab.inventoryPath]);
  assert.match(table.stdout, /^HOST\s+LOCK\s+HOLDER\s+SINCE\s+REASON\s+EXPIRES\n/);
  assert.match(table.stdout, new RegExp(`h1\\s+held\\s+${holder.replace(/[.]/g, '\\.')} \\(pid ${first.pid}, apply of first\\)\\s+\\d\\d:\\d\\d:\\d\\d \\(\\d+s ago\\)\\s+release 1\\.3\\s+in \\d+s`));
  assert.match(table.stdout, /h2\s+free\s+-/);

  openGate('first');
  const r1 = await first.done;
  assert.is(r1.code, 0, r1.stderr);
  assert.ok(exists(h1, '/tmp/first-done'));
  // After the run: free everywhere, and the next apply goes through.
  const after = await status();
  assert.equal([after.h1.state, after.h2.state], ['free', 'free']);
  const again = await berth(['apply', touch('second'), '-i', lab.inventoryPath, '--json']);
  assert.is(again.code, 0, again.stderr);
  assert.ok(exists(h2, '/tmp/second-ran'));
});

test('a SIGKILLed controller: its agents finish their current task, then free the hosts; the next apply goes at once', async () => {
  const run = await startSlow(['apply', slow('killed'), '-i', lab.inventoryPath, '--json']);
  run.kill('SIGKILL');
  await run.done;
  // Still at work on the task in progress: the hosts stay locked meanwhile.
  const during = await status();
  assert.equal([during.h1.state, during.h1.lock.pid], ['held', run.pid]);
  const early = await berth(['apply', touch('early'), '-i', lab.inventoryPath, '--json']);
  assert.is(early.code, 1, 'refused while the dead run\'s last task goes on');
  openGate('killed');
  for (const h of lab.hosts) assert.ok(await agentGone(h, 15_000), `${h.name}: the agent left`);
  const after = await status();
  assert.equal([after.h1.state, after.h2.state], ['free', 'free']);
  const next = await berth(['apply', touch('after-kill'), '-i', lab.inventoryPath, '--json']);
  assert.is(next.code, 0, next.stderr);
  assert.is(warnings(next, 'lock.taken-over').length, 0);
});

test('a run gone with its agents (killed on the hosts: nothing released) leaves stale locks; the next apply takes them over with a warning', async () => {
  const run = await startSlow(['apply', slow('vanished'), '-i', lab.inventoryPath, '--json', '--lock-reason', 'to be killed']);
  run.kill('SIGKILL');
  await run.done;
  // The agents die too, mid-task (the OOM killer, a reboot): nobody releases anything, and the
  // lock has 2 minutes to go. Its agent is gone, so it is stale now.
  for (const h of lab.hosts) ssh(h, "for p in $(pgrep -f '[b]erth/agent/'); do kill -9 $p; done");
  openGate('vanished');
  const stale = await status();
  assert.equal([stale.h1.state, stale.h2.state], ['stale', 'stale'], JSON.stringify(stale));
  assert.is(stale.h1.lock.pid, run.pid);
  const table = await berth(['lock', 'status', '-i', lab.inventoryPath]);
  assert.match(table.stdout, /h1\s+stale\s+.*to be killed\s+its agent is gone \(stale\)/);

  const next = await berth(['apply', touch('takeover'), '-i', lab.inventoryPath, '--json']);
  assert.is(next.code, 0, next.stderr + next.stdout);
  const w = warnings(next, 'lock.taken-over');
  assert.equal(w.map((e) => e.host).sort(), ['h1', 'h2']);
  assert.ok(w[0].message.includes(`took over a stale deploy lock of ${holder} (pid ${run.pid}, apply of vanished)`), w[0].message);
  assert.match(w[0].message, /reason "to be killed", its agent on the host \(pid \d+\) is gone/);
  for (const h of lab.hosts) assert.ok(exists(h, '/tmp/takeover-ran'));
  const after = await status();
  assert.equal([after.h1.state, after.h2.state], ['free', 'free']);
});

test('a suspended controller stops renewing: its locks expire, the hosts stop its run after the task in progress, the next apply takes over', async () => {
  const ttl = { BERTH_LOCK_TTL_MS: '8000' };
  const pb = playbook('suspended', 'name: suspended\nplays:\n  - hosts: all\n    tasks:\n      - command: [sh, -c, "for i in $(seq 300); do [ -e /tmp/suspended-go ] && break; sleep 0.2; done"]\n      - command: [touch, /tmp/suspended-after]\n');
  const run = await startSlow(['apply', pb, '-i', lab.inventoryPath, '--json'], ttl);
  // Its connections stay open (a laptop lid closed, a stopped CI job): only the renewals stop.
  run.kill('SIGSTOP');
  const stoppedAt = Date.now();
  try {
    const early = await berth(['apply', touch('early2'), '-i', lab.inventoryPath, '--json'], { env: ttl });
    assert.is(early.code, 1, `refused ${Date.now() - stoppedAt} ms after the stop`);
    let s = await status();
    for (let i = 0; i < 80 && !(s.h1.state === 'stale' && s.h2.state === 'stale'); i++) {
      await sleep(250);
      s = await status();
    }
    assert.equal([s.h1.state, s.h2.state], ['stale', 'stale']);
    assert.ok(Date.parse(s.h1.lock.expiresAt) <= Date.parse(s.h1.now), 'expired, its agent still alive');
    openGate('suspended');
    const next = await berth(['apply', touch('after-suspend'), '-i', lab.inventoryPath, '--json'], { env: ttl });
    assert.is(next.code, 0, next.stderr + next.stdout);
    assert.equal(warnings(next, 'lock.taken-over').map((e) => e.host).sort(), ['h1', 'h2']);
    assert.match(warnings(next, 'lock.taken-over')[0].message, /expired \d+s ago/);
  } finally {
    run.kill('SIGCONT');
  }
  // Back, the suspended run learns that the hosts stopped it: a failure, not a quiet success.
  const r = await run.done;
  assert.is.not(r.code, 0, r.stdout);
  for (const h of lab.hosts) assert.not.ok(exists(h, '/tmp/suspended-after'), `${h.name}: the task after the expiry never ran`);
  const stopped = failures(r).filter((e) => e.error.code === 'lock.expired').map((e) => e.host).sort();
  assert.equal(stopped, ['h1', 'h2'], JSON.stringify(failures(r)));
  // Its end released nothing of anyone else's.
  const after = await status();
  assert.equal([after.h1.state, after.h2.state], ['free', 'free']);
});

test('a long run keeps its lock: it is renewed before it expires', async () => {
  // TTL 3 s, renewed every 750 ms, for a run of 4 s and more: never stale, and a second run is still refused.
  const run = await startSlow(['apply', slow('renewed'), '-i', lab.inventoryPath, '--limit', 'h2', '--json'], SHORT_TTL);
  await sleep(4000);
  const s = await status();
  assert.is(s.h2.state, 'held', JSON.stringify(s));
  assert.ok(Date.parse(s.h2.lock.expiresAt) - Date.parse(s.h2.now) > 1000, `renewed: expires ${s.h2.lock.expiresAt}, now ${s.h2.now}`);
  const second = await berth(['apply', touch('during'), '-i', lab.inventoryPath, '--limit', 'h2', '--json'], { env: SHORT_TTL });
  assert.is(second.code, 1);
  assert.is(warnings(second, 'lock.taken-over').length, 0);
  openGate('renewed');
  assert.is((await run.done).code, 0);
});

test('berth lock release --force removes a lock whoever holds it and says whose it was', async () => {
  const [h1] = lab.hosts;
  foreignLock(h1, 3600_000);
  const refused = await berth(['apply', touch('blocked'), '-i', lab.inventoryPath, '--json']);
  assert.is(refused.code, 1);
  assert.match(failures(refused)[0].error.message, /held by ops@elsewhere \(pid 4242, apply of other\) since .* \(1m0\ds ago\), reason "db migration", expires in \S+ unless renewed/);

  const noForce = await berth(['lock', 'release', '-i', lab.inventoryPath]);
  assert.is(noForce.code, 2);
  assert.match(noForce.stderr, /add --force/);
  assert.is((await status()).h1.state, 'held', 'nothing removed without --force');

  const r = await berth(['lock', 'release', '--force', '-i', lab.inventoryPath]);
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stdout, /^h1: removed the lock of ops@elsewhere \(pid 4242, apply of other, run r-foreign\) taken [\dT:.-]+Z, reason "db migration"\n/m);
  assert.match(r.stdout, /^h2: no lock$/m);
  assert.is((await status()).h1.state, 'free');
  assert.is((await berth(['apply', touch('blocked'), '-i', lab.inventoryPath, '--json'])).code, 0);
});

test('Ctrl-C stops the run and releases its locks (exit 130)', async () => {
  const run = await startSlow(['apply', slow('interrupted'), '-i', lab.inventoryPath, '--json']);
  run.kill('SIGINT');
  // Hosts finish their current task first.
  await sleep(500);
  openGate('interrupted');
  const r = await run.done;
  assert.is(r.code, 130, r.stderr);
  const s = await status();
  assert.equal([s.h1.state, s.h2.state], ['free', 'free']);
});

test('berth plan takes no lock but warns when a host is locked', async () => {
  const [h1] = lab.hosts;
  foreignLock(h1, 3600_000);
  const r = await berth(['plan', touch('planned'), '-i', lab.inventoryPath, '--json']);
  assert.is(r.code, 0, r.stderr);
  const w = warnings(r, 'lock.held');
  assert.equal(w.map((e) => e.host), ['h1']);
  assert.match(w[0].message, /this host is locked by ops@elsewhere/);
  const s = await status();
  assert.is(s.h1.lock.holder, 'ops@elsewhere', 'the lock is untouched');
  assert.is(s.h2.state, 'free', 'plan took no lock');
  ssh(h1, 'rm -f /var/lib/berth/lock.json');
});

// ---------------------------------------------------------------------------------------------
// The fleet lock in etcd.

const pexec = promisify(execFile);

/** Debian's etcd on the lab network's gateway, stopped (by its pid) at the end of the test. */
async function etcdForLab(): Promise<{ url: string; stop: () => void }> {
  const gw = (await pexec('docker', ['network', 'inspect', '--format', '{{range .IPAM.Config}}{{.Gateway}}{{end}}', networkName(lab.name)])).stdout.trim();
  return startEtcd(gw, 'locks');
}

test('with an etcd registry, the playbook\'s fleet lock refuses a second controller aimed at other hosts', async () => {
  const [h1, h2] = lab.hosts;
  const etcd = await etcdForLab();
  const client = new Etcd3({ hosts: etcd.url });
  try {
    // What the `registry` task leaves on a host (backend etcd): the agent reads only this.
    for (const h of lab.hosts) ssh(h, `mkdir -p /var/lib/berth/registry && echo '${JSON.stringify({ backend: { kind: 'etcd', endpoints: [etcd.url] }, host: h.name, address: h.ip, ttlMs: 10000 })}' > /var/lib/berth/registry/config.json`);
    const pb = slow('fleetpb');
    const first = await startSlow(['apply', pb, '-i', lab.inventoryPath, '--limit', 'h1', '--json', '--lock-reason', 'fleet upgrade']);
    const kv = (await client.get('/berth/locks/fleetpb').exec()).kvs[0];
    assert.ok(kv, 'the fleet lock is a key in etcd');
    assert.is.not(kv.lease, '0', 'held by a lease');
    assert.equal(JSON.parse(kv.value.toString()).pid, first.pid);

    // Another controller, same playbook, only h2 (whose host lock is free): refused by the fleet lock.
    const second = await berth(['apply', pb, '-i', lab.inventoryPath, '--limit', 'h2', '--json']);
    assert.is(second.code, 1, second.stderr + second.stdout);
    const f = failures(second);
    assert.is(f.length, 1);
    assert.is(f[0].error.code, 'lock.held');
    assert.ok(f[0].error.message.includes(`the fleet lock /berth/locks/fleetpb (etcd, through h2) is held by ${holder} (pid ${first.pid}, apply of fleetpb)`), f[0].error.message);
    assert.match(f[0].error.message, /reason "fleet upgrade"/);
    assert.is(second.events.filter((e) => e.type === 'task-start').length, 0);
    assert.not.ok(exists(h2, '/tmp/fleetpb-done'));

    const s = await status(['-p', pb]);
    assert.is(s.h2.state, 'free', 'the refused run gave back h2');
    assert.is(s['fleet:/berth/locks/fleetpb'].state, 'held');
    assert.is(s['fleet:/berth/locks/fleetpb'].lock.holder, holder);

    openGate('fleetpb');
    assert.is((await first.done).code, 0);
    assert.is((await client.get('/berth/locks/fleetpb').exec()).kvs.length, 0, 'released: the key is gone');

    // A run gone with its agents: its fleet lock goes with its lease (no stale key to take over).
    for (const h of lab.hosts) ssh(h, 'rm -f /tmp/fleetpb-go');
    const killed = await startSlow(['apply', pb, '-i', lab.inventoryPath, '--limit', 'h1', '--json'], SHORT_TTL);
    killed.kill('SIGKILL');
    await killed.done;
    ssh(h1, "for p in $(pgrep -f '[b]erth/agent/'); do kill -9 $p; done");
    openGate('fleetpb');
    assert.is((await client.get('/berth/locks/fleetpb').exec()).kvs.length, 1);
    await sleep(4500);
    assert.is((await client.get('/berth/locks/fleetpb').exec()).kvs.length, 0, 'the lease ran out');
    // h1's host lock (same TTL) is stale by now: the next run on every host takes it over.
    const next = await berth(['apply', pb, '-i', lab.inventoryPath, '--json'], { env: SHORT_TTL });
    assert.is(next.code, 0, next.stderr + next.stdout);
    assert.equal(warnings(next, 'lock.taken-over').map((e) => e.host), ['h1']);
  } finally {
    client.close();
    etcd.stop();
    for (const h of lab.hosts) ssh(h, 'rm -f /var/lib/berth/registry/config.json');
  }
});

test.after(async () => {
  await lab?.down();
});

test.run();
