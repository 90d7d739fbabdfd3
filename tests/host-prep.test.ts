// The host-preparation example (playbooks/host-prep.yml, 20 tasks over most modules) converges
// 3 lab hosts, every result checked on the hosts themselves, and a second apply changes nothing.
// Prints the median of 5 no-op applies (never asserted: tests do not judge time).
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parse, stringify } from 'yaml';
import { sshLabSync, startLab, type TestLab } from './helpers/lab.js';

const root = new URL('..', import.meta.url).pathname;
let lab: TestLab;
let inventory: string;

const apply = () => {
  const r = spawnSync(process.execPath, [join(root, 'bin/berth.js'), 'apply', join(root, 'playbooks/host-prep.yml'), '-i', inventory, '--json'], { encoding: 'utf8', timeout: 300_000 });
  const events = r.stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l));
  return { code: r.status, events, stderr: r.stderr, recap: events.find((e) => e.type === 'recap')?.hosts as Record<string, { ok: number; changed: number; failed: number }> };
};
const ssh = (port: number, cmd: string) => sshLabSync(lab, lab.hosts.find((h) => h.port === port)!, cmd);

test.before(async () => {
  lab = await startLab({ name: 'host-prep', hosts: 3 });
  // The lab's inventory, with the group the playbook targets (as its lab provider would add).
  const doc = parse(readFileSync(lab.inventoryPath, 'utf8'));
  doc.groups = { ...doc.groups, app: { hosts: lab.hosts.map((h) => h.name) } };
  inventory = join(lab.dir, 'inventory-app.yml');
  writeFileSync(inventory, stringify(doc));
});
test.after(async () => lab?.down());

test('the first apply converges every host; the result is on the hosts', () => {
  const r = apply();
  assert.is(r.code, 0, r.stderr + JSON.stringify(r.events.filter((e) => e.status === 'failed')));
  for (const h of lab.hosts) {
    assert.ok(r.recap[h.name].changed >= 15, `${h.name}: ${JSON.stringify(r.recap[h.name])}`);
    assert.match(ssh(h.port, 'getent passwd app'), /^app:x:\d+:\d+::\/srv\/app:\/usr\/sbin\/nologin$/);
    assert.is(ssh(h.port, 'stat -c "%U:%G %a" /srv/app /var/log/demo-app /etc/demo-app/app.conf'), 'app:app 750\napp:app 750\nroot:app 640');
    const conf = ssh(h.port, 'cat /etc/demo-app/app.conf');
    assert.match(conf, new RegExp(`^# demo-app on ${h.name} \\(Debian GNU/Linux 12 \\(bookworm\\)\\)`));
    assert.match(conf, /peers = h1,h2,h3/);
    assert.is(ssh(h.port, "dpkg-query -W -f '${Status}' busybox-static"), 'install ok installed');
    assert.is(ssh(h.port, 'cat /etc/security/limits.d/demo-app.conf'), 'app soft nofile 65536\napp hard nofile 65536');
    assert.is(ssh(h.port, 'readlink /srv/app/current'), '/srv/app/releases');
    assert.is(ssh(h.port, 'wc -l < /srv/app/shared/config-changes.log'), '1', 'the handler ran once');
    assert.is(ssh(h.port, 'stat -c %a /etc/demo-app/env'), '600');
  }
});

test('a second apply reports 0 changed on every host, and the handler does not run', () => {
  const r = apply();
  assert.is(r.code, 0, r.stderr);
  for (const h of lab.hosts) {
    assert.is(r.recap[h.name].changed, 0, `${h.name}: ${JSON.stringify(r.events.filter((e) => e.type === 'task-end' && e.host === h.name && e.status === 'changed'))}`);
    assert.is(r.recap[h.name].failed, 0);
    assert.is(ssh(h.port, 'wc -l < /srv/app/shared/config-changes.log'), '1');
  }
});

test('no-op timing on 3 hosts (printed, not asserted)', () => {
  const times: number[] = [];
  for (let i = 0; i < 5; i++) {
    const t0 = performance.now();
    assert.is(apply().code, 0);
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  console.log(`  host-prep (20 tasks) no-op on 3 lab hosts: median ${Math.round(times[2])} ms of ${times.map(Math.round).join(', ')}`);
});

test.run();
