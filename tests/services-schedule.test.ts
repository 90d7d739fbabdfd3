// Scheduled jobs and recreate-on-notify on a real lab host that boots systemd, with Docker
// Engine as docker.service. A scheduled job is prepared by apply and run by the host's watcher
// (the systemd unit berth-watcher.service) at each due time; what the runs did is checked on the
// host itself (the job's volume, the watcher's status file) and in `berth ps`. A notified service with `on_notify: recreate` gets new containers (named volumes
// kept) where one with the default restart keeps its container.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { LabHost } from './helpers/lab.js';
import { servicesLab, type ServicesLab } from './services-lab.js';

let sl: ServicesLab;
let h1: LabHost;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `probe` until it returns a value (not undefined), or fails after `ms`, saying what it waited for. */
async function waitFor<T>(what: string, ms: number, probe: () => Promise<T | undefined>): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > until) throw new Error(`waited ${ms / 1000} s for ${what}`);
    await sleep(500);
  }
}

interface Run {
  container: string;
  startedAt: string;
  endedAt?: string;
  exitCode?: number;
  skipped?: string;
  error?: string;
}

/** The watcher's status file of a scheduled job on the host. */
async function status(service: string): Promise<{ schedule: string; next?: string; runs: Run[] } | undefined> {
  const r = await sl.ssh(h1, `cat /var/lib/berth/schedule-status/sched/${service}.json`);
  return r.code === 0 ? JSON.parse(r.stdout) : undefined;
}

const ticks = async () => Number((await sl.ssh(h1, 'docker run --rm -v sched_ticks:/data lab/busybox sh -c "cat /data/ticks 2>/dev/null | wc -l"')).stdout.trim());

function jobs(k: { tick?: string; withTick?: boolean } = {}): string {
  const tick =
    k.withTick === false
      ? ''
      : `
      tick:
        image: lab/busybox
        schedule: "${k.tick ?? '@every 2s'}"
        command: [sh, -c, "date +%s >> /data/ticks"]
        volumes: ["ticks:/data"]
      slow:
        image: lab/busybox
        schedule: "@every 2s"
        command: [sleep, "5"]`;
  return `name: sched
plays:
  - hosts: all
    services:${tick}
      fail:
        image: lab/busybox
        schedule: "@every 2s"
        command: [sh, -c, "echo failing; exit 3"]
`;
}

const failed = (r: { events: Array<Record<string, any>> }) => JSON.stringify(r.events.filter((e) => e.status === 'failed'));

test.before(async () => {
  sl = await servicesLab('schedule', 1, { init: 'systemd' });
  [h1] = sl.hosts;
});

test.after(async () => {
  await sl?.down();
});

test('apply prepares a scheduled job and hands it to the watcher; the watcher runs it every 2 s', async () => {
  const r = await sl.apply('sched', jobs());
  assert.is(r.code, 0, r.stderr + failed(r));
  assert.equal(r.changes('h1', 'job tick'), ['create tick.1 [missing]', 'schedule tick (@every 2s) [not scheduled yet]']);
  const file = JSON.parse((await sl.ssh(h1, 'cat /var/lib/berth/schedules/sched/tick.json')).stdout);
  assert.is(file.schedule, '@every 2s');
  assert.equal(file.containers.map((c: { name: string }) => c.name), ['sched-tick-1']);
  assert.is((await sl.ssh(h1, 'test -e /var/lib/berth/registry/config.json')).code, 1, 'no registry on this host: the watcher runs for the schedules alone');
  // On a systemd host the watcher is an enabled unit (it comes back after a reboot), not a
  // process berth left in the background.
  assert.is((await sl.ssh(h1, 'systemctl is-active berth-watcher.service; systemctl is-enabled berth-watcher.service')).stdout, 'active\nenabled');
  const pid = JSON.parse((await sl.ssh(h1, 'cat /var/lib/berth/watcher/watcher.pid')).stdout).pid as number;
  assert.is((await sl.ssh(h1, 'systemctl show berth-watcher.service -p MainPID --value')).stdout, String(pid));
  assert.is((await sl.ssh(h1, 'pgrep -f "[w]hile :; do" || echo none')).stdout, 'none', 'no sh loop of the detached watcher');

  const done = await waitFor('two finished runs of tick', 90_000, async () => {
    const s = await status('tick');
    const ok = s?.runs.filter((x) => x.exitCode === 0) ?? [];
    return ok.length >= 2 ? ok : undefined;
  });
  assert.ok(done.every((x) => x.container === 'sched-tick-1' && x.endedAt && x.endedAt >= x.startedAt));
  assert.ok((await ticks()) >= 2, 'every run appended a line to the named volume');
  const s = (await status('tick'))!;
  assert.ok(s.next && Date.parse(s.next) > Date.parse(done.at(-1)!.startedAt), `next run after the last one: ${s.next}`);
});

test('a failing job records its exit code, and a run still going at the next due time is skipped', async () => {
  const fail = await waitFor('a failed run of fail', 60_000, async () => (await status('fail'))?.runs.find((x) => x.exitCode === 3));
  assert.is(fail.container, 'sched-fail-1');
  const skipped = await waitFor('a skipped due time of slow', 60_000, async () => (await status('slow'))?.runs.find((x) => x.skipped));
  assert.is(skipped.skipped, 'still running');
  await waitFor('a finished run of slow', 60_000, async () => (await status('slow'))?.runs.find((x) => x.exitCode === 0));
});

test('berth ps shows each scheduled job\'s schedule, next run and last runs with their exit codes', async () => {
  const pb = sl.file('sched.yml', jobs());
  const plain = await sl.cli(['ps', '-p', pb, '-i', sl.lab.inventoryPath]);
  assert.is(plain.code, 0, plain.stderr);
  const lines = plain.stdout.split('\n');
  const head = lines.findIndex((l) => /^HOST\s+JOB\s+SCHEDULE\s+NEXT RUN\s+LAST RUNS/.test(l));
  assert.ok(head > 0, plain.stdout);
  const row = (job: string) => lines.slice(head).find((l) => l.includes(` ${job} `)) ?? '';
  assert.match(row('tick.1'), /@every 2s\s+\d\d:\d\d:\d\d\s+.*exit 0 \d\d:\d\d:\d\d/);
  assert.match(row('fail.1'), /exit 3 \d\d:\d\d:\d\d/);
  assert.match(row('slow.1'), /skipped \d\d:\d\d:\d\d \(still running\)/);

  const json = await sl.cli(['ps', 'fail', '-p', pb, '-i', sl.lab.inventoryPath, '--json']);
  const rows = json.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l));
  assert.is(rows.length, 1);
  assert.is(rows[0].schedule.schedule, '@every 2s');
  assert.ok(rows[0].schedule.next);
  assert.ok(rows[0].schedule.runs.length >= 1 && rows[0].schedule.runs.length <= 10);
  assert.ok(rows[0].schedule.runs.some((x: Run) => x.exitCode === 3));
});

test('the job history keeps the last 10 runs', async () => {
  await waitFor('more than 10 due times of tick', 120_000, async () => ((await ticks()) > 11 ? true : undefined));
  assert.is((await status('tick'))!.runs.length, 10);
});

test('a second apply changes nothing; a changed schedule is written again and the runs go on', async () => {
  const same = await sl.apply('sched', jobs());
  assert.is(same.code, 0, same.stderr + failed(same));
  assert.equal(same.changes('h1', 'job tick'), []);
  assert.equal(same.changes('h1', 'job fail'), []);

  const slower = await sl.apply('sched', jobs({ tick: '*/20 * * * * *' }));
  assert.is(slower.code, 0, slower.stderr + failed(slower));
  assert.equal(slower.changes('h1', 'job tick'), ['schedule tick (*/20 * * * * *) [schedule changed]']);
  const next = await waitFor('the new schedule picked up', 30_000, async () => {
    const s = await status('tick');
    return s?.schedule === '*/20 * * * * *' && s.next ? s.next : undefined;
  });
  assert.is(new Date(next).getSeconds() % 20, 0, `on a 20 s boundary: ${next}`);
});

test('the watcher that comes back after a crash picks the schedules up again', async () => {
  const pid = JSON.parse((await sl.ssh(h1, 'cat /var/lib/berth/watcher/watcher.pid')).stdout).pid as number;
  await sl.ssh(h1, `kill -9 ${pid}`);
  await waitFor('a new watcher', 30_000, async () => {
    const p = await sl.ssh(h1, 'cat /var/lib/berth/watcher/watcher.pid');
    return p.code === 0 && JSON.parse(p.stdout).pid !== pid ? true : undefined;
  });
  const before = (await status('fail'))!.runs.at(-1)!.startedAt;
  await waitFor('a run by the new watcher', 45_000, async () => ((await status('fail'))?.runs.some((x) => x.startedAt > before && x.exitCode === 3) ? true : undefined));
});

test('a job removed from the playbook loses its schedule and runs no more', async () => {
  const r = await sl.apply('sched', jobs({ withTick: false }));
  assert.is(r.code, 0, r.stderr + failed(r));
  const orphans = r.changes('h1', 'remove orphans');
  assert.ok(orphans.includes('unschedule tick [service tick is no longer in the playbook]'), orphans.join('\n'));
  assert.ok(orphans.includes('remove tick.1 [service tick is no longer in the playbook]'), orphans.join('\n'));
  assert.ok(orphans.indexOf('unschedule tick [service tick is no longer in the playbook]') < orphans.indexOf('remove tick.1 [service tick is no longer in the playbook]'), 'the timer goes before its container');
  assert.is((await sl.ssh(h1, 'test -e /var/lib/berth/schedules/sched/tick.json')).code, 1);
  assert.is(await status('tick'), undefined, 'its status went with it');

  const n = await ticks();
  await sleep(5000);
  assert.is(await ticks(), n, 'no run since');
  assert.ok(n >= 2, 'the named volume is kept');
  const ps = await sl.cli(['ps', '-p', sl.file('sched.yml', jobs({ withTick: false })), '-i', sl.lab.inventoryPath]);
  assert.not.match(ps.stdout, /tick/);
  assert.match(ps.stdout, /fail\.1/);

});

test('a job that loses its schedule: is unscheduled before apply runs it', async () => {
  const r = await sl.apply('sched', 'name: sched\nplays:\n  - hosts: all\n    services:\n      fail: { image: lab/busybox, job: true, command: [sh, -c, "echo fixed"] }\n');
  assert.is(r.code, 0, r.stderr + failed(r));
  assert.equal(r.changes('h1', 'job fail'), ['unschedule fail [no schedule: in the playbook any more]', 'recreate fail.1 [config changed: command]']);
  assert.is((await sl.ssh(h1, 'ls /var/lib/berth/schedules/sched 2>/dev/null | wc -l')).stdout.trim(), '0');
  assert.is((await sl.inspect(h1, 'sched-fail-1')).State.ExitCode, 0, 'run once by apply, as a plain job');
});

// ---------------------------------------------------------------------------------------------
// on_notify: a task in one play changes a file that services of another play mount.

const notified = (greeting: string) => `name: notes
plays:
  - name: base
    hosts: all
    tasks:
      - file: { path: /srv/notes, state: directory }
      - copy: { content: "${greeting}\\n", dest: /srv/notes/app.conf }
        notify: [fresh, steady]
  - name: services
    hosts: all
    services:
      fresh:
        image: lab/busybox
        init: true
        on_notify: recreate
        command: [sh, -c, "cat /conf/app.conf >> /data/seen; exec sleep 3600"]
        volumes: ["/srv/notes:/conf:ro", "freshdata:/data"]
      steady:
        image: lab/busybox
        init: true
        command: [sleep, "3600"]
        volumes: ["/srv/notes:/conf:ro"]
`;

test('on_notify: recreate replaces the notified containers and keeps named volumes; the default restart keeps them', async () => {
  const first = await sl.apply('notes', notified('hello'));
  assert.is(first.code, 0, first.stderr + failed(first));
  assert.equal(first.changes('h1', 'fresh'), [], 'nothing ran before the services existed');
  const [fresh0, steady0] = [await sl.inspect(h1, 'notes-fresh-1'), await sl.inspect(h1, 'notes-steady-1')];

  const same = await sl.apply('notes', notified('hello'));
  assert.is(same.code, 0);
  assert.is((await sl.inspect(h1, 'notes-fresh-1')).Id, fresh0.Id, 'not notified: left alone');

  const changed = await sl.apply('notes', notified('bonjour'));
  assert.is(changed.code, 0, changed.stderr + failed(changed));
  assert.equal(changed.changes('h1', 'fresh'), ['recreate fresh.1 [notified (on_notify: recreate)]']);
  assert.equal(changed.changes('h1', 'steady'), ['restart steady.1 [notified]']);
  assert.equal(changed.changes('h1', 'service fresh'), [], 'the converge after it finds the new container as the spec wants it');

  const fresh = await sl.inspect(h1, 'notes-fresh-1');
  assert.is.not(fresh.Id, fresh0.Id, 'a new container');
  assert.is(fresh.State.Running, true);
  assert.is(fresh.Config.Labels['berth.config-hash'], fresh0.Config.Labels['berth.config-hash'], 'from the same spec');
  const seen = await waitFor('the new container\'s line', 10_000, async () => {
    const out = (await sl.ssh(h1, 'docker exec notes-fresh-1 cat /data/seen')).stdout;
    return out.includes('bonjour') ? out : undefined;
  });
  assert.is(seen, 'hello\nbonjour', 'the named volume kept what the old container wrote');

  const steady = await sl.inspect(h1, 'notes-steady-1');
  assert.is(steady.Id, steady0.Id, 'restarted, not recreated');
  assert.ok(steady.State.StartedAt > steady0.State.StartedAt);
});

test.run();
