// The demo as operators reach a fleet: hosts that boot systemd like a Debian server (as demo.yml
// asks of its lab), and the lab's own inventory logs in as the unprivileged `berth` user and
// becomes root with sudo. playbooks/demo.yml (Docker Engine, images, registry,
// ambassador, the web/store/backup stack with a rolling rollout) converges that way, and a
// second apply changes nothing. h2 has Debian's nodejs (Node 18): the agent, its Docker client,
// the registry watcher and the ambassador's sync run on that Node there.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parse } from 'yaml';
import { berth, type Ev, type Run } from './helpers/berth-cli.js';
import { sshLab, startLab, type TestLab } from './helpers/lab.js';

const root = new URL('..', import.meta.url).pathname;
const demo = join(root, 'playbooks/demo.yml');
let lab: TestLab;

test.before(async () => {
  lab = await startLab({ name: 'demo', hosts: 2, init: 'systemd', node: { h2: 'debian' } });
});

test.after(async () => {
  await lab?.down();
});

const recap = (r: Run): Record<string, { ok: number; changed: number; failed: number; unreachable: boolean }> => r.events.find((e: Ev) => e.type === 'recap')?.hosts ?? {};

test('the lab inventory logs in as berth and the agent runs as root through sudo', async () => {
  const inv = parse(readFileSync(lab.inventoryPath, 'utf8')) as { ssh: Record<string, unknown> };
  assert.equal([inv.ssh.user, inv.ssh.become], ['berth', true]);
  const pb = join(lab.dir, 'who.yml');
  writeFileSync(pb, 'name: who\nplays:\n  - hosts: all\n    tasks:\n      - command: [sh, -c, "echo $SUDO_USER $(id -un)"]\n        changed_when: false\n');
  const r = await berth(['apply', pb, '-i', lab.inventoryPath, '--json']);
  assert.is(r.code, 0, r.stderr + r.stdout);
  const said = Object.fromEntries(r.events.filter((e) => e.type === 'output').map((e) => [e.host, e.line]));
  assert.equal(said, { h1: 'berth root', h2: 'berth root' });
});

test('playbooks/demo.yml converges as berth with become, and a second apply changes nothing', async () => {
  const first = await berth(['apply', demo, '-i', lab.inventoryPath, '--json'], { timeoutMs: 15 * 60_000 });
  assert.is(first.code, 0, first.stderr + first.stdout.split('\n').filter((l) => l.includes('"failed"')).join('\n'));
  const node = Object.fromEntries(first.events.filter((e) => e.type === 'host-ready').map((e) => [e.host, e.node]));
  assert.equal(node, { h1: process.versions.node, h2: node.h2 }, 'h1 runs on the runtime berth pushed');
  assert.match(node.h2, /^18\./, 'h2 runs on Debian\'s Node 18');
  assert.is((await sshLab(lab, lab.hosts[1]!, 'ls /var/lib/berth/node 2>&1 || true')).stdout.includes('No such file'), true, 'no runtime was pushed to h2');
  for (const h of lab.hosts) {
    assert.ok(recap(first)[h.name]!.changed > 0, `${h.name} changed on the first apply`);
    // The demo's ambassador answers on every host: the stack is up, reached through the registry.
    const web = await sshLab(lab, h, 'curl -fsS --max-time 5 http://127.0.0.1:8080/');
    assert.is(web.code, 0, web.stderr);
    assert.is((await sshLab(lab, h, 'systemctl is-active docker berth-watcher')).stdout, 'active\nactive', `${h.name}: docker.service and the watcher's unit`);
  }
  // The watcher (health checks, registrations, the ambassador's backends) runs on the same Node as the agent.
  const watcherNode = await sshLab(lab, lab.hosts[1]!, 'readlink /proc/$(pgrep -o -f -- " --watch$")/exe');
  assert.is(watcherNode.stdout, '/usr/bin/node', watcherNode.stderr);
  const second = await berth(['apply', demo, '-i', lab.inventoryPath, '--json'], { timeoutMs: 10 * 60_000 });
  assert.is(second.code, 0, second.stderr);
  const changed = second.events.filter((e) => e.type === 'task-end' && e.status === 'changed').map((e) => `${e.host} ${e.name}: ${JSON.stringify(e.changes)}`);
  assert.equal(changed, []);
  for (const h of lab.hosts) {
    const r = recap(second)[h.name]!;
    assert.equal([r.changed, r.failed, r.unreachable], [0, 0, false], `${h.name}: ${JSON.stringify(r)}`);
  }
});

test.run();
