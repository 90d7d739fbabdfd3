// `berth apply` end to end over real SSH on lab hosts (real sshd; h1-h3 with no Node, h4 with
// Debian's nodejs, Node 18, which runs the agent there): the agent is pushed once and reused, a
// corrupted agent is replaced, an unreachable host is reported while the others go on, become
// through sudo, Ctrl-C, and bad input that connects nowhere.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { agentArtifact } from '../controller/agent/artifacts.js';
import { startAgent } from '../controller/agent/start-agent.js';
import { connect, resolveTarget } from '../controller/ssh/index.js';
import { berth, type Ev, type Run } from './helpers/berth-cli.js';
import { sshLabSync, startLab, type LabHost, type TestLab } from './helpers/lab.js';

let lab: TestLab;


const ssh = (host: LabHost, cmd: string, user = 'root') => sshLabSync(lab, host, cmd, user);

function playbook(name: string, yaml: string): string {
  const path = join(lab.dir, `${name}.yml`);
  writeFileSync(path, yaml);
  return path;
}

const ready = (r: Run): Record<string, Ev> => Object.fromEntries(r.events.filter((e) => e.type === 'host-ready').map((e) => [e.host, e]));

test.before(async () => {
  lab = await startLab({ name: 'apply', hosts: 4, node: { h4: 'debian' } });
});

test('a host without Node gets one pushed with the agent, one with Node 18 only the agent; the second run uploads 0 bytes', async () => {
  assert.is(ssh(lab.hosts[0], 'command -v node || echo none'), 'none', 'lab hosts start without node');
  assert.is(ssh(lab.hosts[3], 'command -v node'), '/usr/bin/node', "h4 has Debian's nodejs");
  const pb = playbook('hello', 'name: hello\nplays:\n  - hosts: all\n    tasks:\n      - command: [uname, -n]\n');
  const first = await berth(['apply', pb, '-i', lab.inventoryPath, '--json']);
  assert.is(first.code, 0, first.stderr + first.stdout);
  const r1 = ready(first);
  assert.equal(Object.keys(r1).sort(), ['h1', 'h2', 'h3', 'h4']);
  for (const e of [r1.h1, r1.h2, r1.h3]) {
    assert.equal(e.pushed, { agent: true, node: true });
    assert.ok(e.uploadedBytes > agentArtifact().bytes.length);
  }
  assert.equal(r1.h4.pushed, { agent: true, node: false });
  assert.is(r1.h4.uploadedBytes, agentArtifact().bytes.length);
  assert.match(r1.h4.node, /^18\./);
  assert.match(ssh(lab.hosts[1], 'ls /var/lib/berth/node/*/node'), /\/var\/lib\/berth\/node\/[0-9a-f]{64}\/node/);
  assert.is(ssh(lab.hosts[3], 'ls /var/lib/berth'), 'agent', 'no runtime pushed to h4');
  const outputs = first.events.filter((e) => e.type === 'output').map((e) => `${e.host}:${e.line}`).sort();
  assert.equal(outputs, ['h1:h1', 'h2:h2', 'h3:h3', 'h4:h4']);

  const second = await berth(['apply', pb, '-i', lab.inventoryPath, '--json']);
  assert.is(second.code, 0);
  for (const e of Object.values(ready(second))) {
    assert.is(e.uploadedBytes, 0);
    assert.equal(e.pushed, { agent: false, node: false });
  }
});

test('a corrupted agent file on one host is detected by its hash and replaced', async () => {
  ssh(lab.hosts[0], `echo broken > /var/lib/berth/agent/${agentArtifact().sha256}.mjs`);
  const pb = playbook('ping', 'name: ping\nplays:\n  - hosts: all\n    tasks:\n      - ping:\n');
  const r = await berth(['apply', pb, '-i', lab.inventoryPath, '--json']);
  assert.is(r.code, 0, r.stderr);
  const e = ready(r);
  assert.equal(e.h1.pushed, { agent: true, node: false });
  assert.is(e.h1.uploadedBytes, agentArtifact().bytes.length);
  assert.is(e.h2.uploadedBytes, 0);
  assert.is(ssh(lab.hosts[0], `sha256sum /var/lib/berth/agent/${agentArtifact().sha256}.mjs | cut -d' ' -f1`), agentArtifact().sha256);
});

test('a pushed runtime damaged on disk is pushed again in the same run', async () => {
  ssh(lab.hosts[2], 'for f in /var/lib/berth/node/*/node; do echo garbage > "$f"; done');
  const pb = playbook('ping2', 'name: ping\nplays:\n  - hosts: h3\n    tasks:\n      - ping:\n');
  const r = await berth(['apply', pb, '-i', lab.inventoryPath, '--json']);
  assert.is(r.code, 0, r.stderr + r.stdout);
  assert.equal(ready(r).h3.pushed, { agent: false, node: true });
  assert.match(ssh(lab.hosts[2], '/var/lib/berth/node/*/node --version'), /^v\d+/);
});

test('a pushed runtime replaced on disk by another program is never run: its sha256 is checked before each start, and it is pushed again', async () => {
  // Still executable, still exits 0 for --version: only its hash tells it from the real one.
  ssh(lab.hosts[2], 'rm -f /tmp/fake-node-ran; for f in /var/lib/berth/node/*/node; do printf \'#!/bin/sh\\necho "$*" >> /tmp/fake-node-ran\\nexit 0\\n\' > "$f"; chmod 755 "$f"; done');
  const pb = playbook('ping3', 'name: ping\nplays:\n  - hosts: h3\n    tasks:\n      - ping:\n');
  const r = await berth(['apply', pb, '-i', lab.inventoryPath, '--json']);
  assert.is(ssh(lab.hosts[2], 'cat /tmp/fake-node-ran 2>/dev/null || echo never'), 'never', 'the replaced runtime never ran');
  assert.is(r.code, 0, r.stderr + r.stdout);
  assert.equal(ready(r).h3.pushed, { agent: false, node: true });
  assert.match(ssh(lab.hosts[2], 'for f in /var/lib/berth/node/*/node; do d=${f%/node}; [ "$(sha256sum "$f" | cut -d" " -f1)" = "${d##*/}" ] && echo whole; done'), /^whole$/);
});

test('an unreachable host is reported and the others go on (exit 3)', async () => {
  const inv = join(lab.dir, 'with-dead-host.yml');
  const hosts = lab.hosts.map((h) => `  ${h.name}: { address: 127.0.0.1, port: ${h.port} }`).join('\n');
  writeFileSync(inv, `ssh: { user: root, key: ${lab.keyPath}, known_hosts: ${lab.knownHostsPath} }\nhosts:\n${hosts}\n  dead: { address: 127.0.0.1, port: 1 }\n`);
  const pb = playbook('touch', 'name: touch\nplays:\n  - hosts: all\n    tasks:\n      - command: [touch, /tmp/reached]\n');
  const r = await berth(['apply', pb, '-i', inv, '--json']);
  assert.is(r.code, 3);
  const dead = r.events.find((e) => e.type === 'host-unreachable');
  assert.is(dead?.host, 'dead');
  assert.is(dead?.error.code, 'ssh.unreachable');
  for (const h of lab.hosts) assert.is(ssh(h, 'test -f /tmp/reached && echo yes'), 'yes');
  const recap = r.events.find((e) => e.type === 'recap')!.hosts;
  assert.is(recap.dead.unreachable, true);
  assert.is(recap.h1.changed, 1);
});

test('a task failing on one host stops that host only (exit 1)', async () => {
  const pb = playbook('fail-one', [
    'name: fail-one',
    'plays:',
    '  - hosts: all',
    '    tasks:',
    '      - name: not on h2',
    '        command: [test, "{{inventory_hostname}}", "!=", h2]',
    '      - command: [touch, /tmp/after-fail]',
    '',
  ].join('\n'));
  ssh(lab.hosts[1], 'rm -f /tmp/after-fail');
  const r = await berth(['apply', pb, '-i', lab.inventoryPath, '--json']);
  assert.is(r.code, 1);
  const failed = r.events.filter((e) => e.type === 'task-end' && e.status === 'failed').map((e) => e.host);
  assert.equal(failed, ['h2']);
  assert.is(ssh(lab.hosts[0], 'test -f /tmp/after-fail && echo yes'), 'yes');
  assert.is(ssh(lab.hosts[1], 'test -f /tmp/after-fail && echo yes || echo no'), 'no');
});

test('a non-root user runs the agent in its home, or as root through sudo with become (on either Node)', async () => {
  const inv = join(lab.dir, 'as-berth.yml');
  const h = lab.hosts[2];
  const h4 = lab.hosts[3];
  writeFileSync(inv, [
    `ssh: { user: berth, key: ${lab.keyPath}, known_hosts: ${lab.knownHostsPath} }`,
    'hosts:',
    `  plain: { address: 127.0.0.1, port: ${h.port} }`,
    `  sudo: { address: 127.0.0.1, port: ${h.port}, become: true }`,
    `  plain18: { address: 127.0.0.1, port: ${h4.port} }`,
    `  sudo18: { address: 127.0.0.1, port: ${h4.port}, become: true }`,
    '',
  ].join('\n'));
  const pb = playbook('whoami', 'name: whoami\nplays:\n  - hosts: all\n    tasks:\n      - command: [id, -un]\n');
  const r = await berth(['apply', pb, '-i', inv, '--json']);
  assert.is(r.code, 0, r.stderr + r.stdout);
  const out = Object.fromEntries(r.events.filter((e) => e.type === 'output').map((e) => [e.host, e.line]));
  assert.equal(out, { plain: 'berth', sudo: 'root', plain18: 'berth', sudo18: 'root' });
  assert.match(ssh(h, 'ls ~/.berth/agent', 'berth'), /\.mjs/);
  assert.is(ssh(h4, 'ls ~/.berth', 'berth'), 'agent', 'the non-root agent on h4 runs on /usr/bin/node: no runtime in its home');
});

test('secrets from the environment are used on the host and masked in every event; a missing one is bad input', async () => {
  const pb = playbook('secret', [
    'name: secret',
    'secrets: { token: { env: BERTH_TEST_TOKEN } }',
    'plays:',
    '  - hosts: h1',
    '    tasks:',
    '      - name: "write {{token}}"',
    '        shell: "echo {{token}} > /tmp/token; cat /tmp/token"',
    '',
  ].join('\n'));
  process.env.BERTH_TEST_TOKEN = 'tok-9f8e7d';
  const r = await berth(['apply', pb, '-i', lab.inventoryPath, '--json', '--diff']);
  delete process.env.BERTH_TEST_TOKEN;
  assert.is(r.code, 0, r.stderr + r.stdout);
  assert.is(ssh(lab.hosts[0], 'cat /tmp/token'), 'tok-9f8e7d', 'the real value reached the host');
  assert.not.ok(r.stdout.includes('tok-9f8e7d'), r.stdout);
  assert.ok(r.events.some((e) => e.type === 'output' && e.line === '********'));
  const missing = await berth(['apply', pb, '-i', lab.inventoryPath]);
  assert.is(missing.code, 2);
  assert.match(missing.stderr, /secret\.yml:2:\d+: secret token: the environment variable BERTH_TEST_TOKEN is not set/);
});

test('a task that needs root on a host whose agent is not root fails clearly, before running', async () => {
  const inv = join(lab.dir, 'as-berth-plain.yml');
  writeFileSync(inv, `ssh: { user: berth, key: ${lab.keyPath}, known_hosts: ${lab.knownHostsPath} }\nhosts:\n  plain: { address: 127.0.0.1, port: ${lab.hosts[2].port} }\n`);
  const pb = playbook('needs-root', 'name: needs-root\nplays:\n  - hosts: all\n    become: true\n    tasks:\n      - command: [touch, /root/should-not-exist]\n');
  const r = await berth(['apply', pb, '-i', inv, '--json']);
  assert.is(r.code, 1);
  const end = r.events.find((e) => e.type === 'task-end');
  assert.match(end?.message ?? '', /needs root.*runs as berth.*become: true on the host/);
  assert.is(ssh(lab.hosts[2], 'test -e /root/should-not-exist && echo yes || echo no'), 'no');
});

for (const i of [0, 3]) test(`10 000 events cross the SSH channel complete and in order (h${i + 1}: ${i ? "Debian's Node 18" : "berth's runtime"})`, async () => {
  const h = lab.hosts[i]!;
  const target = resolveTarget({ name: h.name, address: h.address, port: h.port, user: 'root', key: lab.keyPath, known_hosts: lab.knownHostsPath });
  if (!target.ok) return assert.unreachable(target.error.message);
  const session = await connect(target.value);
  if (!session.ok) return assert.unreachable(session.error.message);
  const agent = await startAgent(session.value, { become: false, host: h.name });
  if (!agent.ok) return assert.unreachable(agent.error.message);
  const seqs: number[] = [];
  const res = await agent.value.client.request({ method: 'flood', params: { count: 10_000, payloadBytes: 100 } }, (e) => {
    if (e.kind === 'progress' && e.seq !== undefined) seqs.push(e.seq);
  }).done;
  assert.ok(res.ok);
  assert.is(seqs.length, 10_000);
  assert.ok(seqs.every((s, i) => s === i));
  agent.value.client.bye();
  session.value.close();
});

test('Ctrl-C stops every host after its current task and exits 130', async () => {
  for (const h of lab.hosts) ssh(h, 'rm -f /tmp/slow-done /tmp/never');
  const pb = playbook('slow', [
    'name: slow',
    'plays:',
    '  - hosts: all',
    '    tasks:',
    '      - command: [sh, -c, "sleep 1.5 && touch /tmp/slow-done"]',
    '      - command: [touch, /tmp/never]',
    '',
  ].join('\n'));
  let sent = false;
  const r = await berth(['apply', pb, '-i', lab.inventoryPath, '--json'], {
    onEvent: (e, child) => {
      if (e.type === 'task-start' && !sent) {
        sent = true;
        setTimeout(() => child.kill('SIGINT'), 300);
      }
    },
  });
  assert.is(r.code, 130, r.stderr);
  assert.ok(r.events.some((e) => e.type === 'cancelling'));
  for (const h of lab.hosts) {
    assert.is(ssh(h, 'test -f /tmp/slow-done && echo yes || echo no'), 'yes', `${h.name} finished its current task`);
    assert.is(ssh(h, 'test -f /tmp/never && echo yes || echo no'), 'no', `${h.name} started nothing after Ctrl-C`);
  }
});

test('an unknown group or --limit is bad input: exit 2 before any host is contacted', async () => {
  const pb = playbook('bad-group', 'name: bad\nplays:\n  - hosts: webz\n    tasks:\n      - command: [touch, /tmp/bad-input]\n');
  const r = await berth(['apply', pb, '-i', lab.inventoryPath, '--json']);
  assert.is(r.code, 2);
  assert.match(r.stderr, /hosts: "webz" names no host or group/);
  assert.match(r.stderr, /hint: known groups: /);
  assert.not.match(r.stderr, /\n\s+at /, 'no stack trace');
  assert.is(r.events.length, 0, 'no run started');
  const limit = await berth(['apply', playbook('ok', 'name: ok\nplays:\n  - hosts: all\n    tasks:\n      - ping:\n'), '-i', lab.inventoryPath, '--limit', 'nosuch']);
  assert.is(limit.code, 2);
  assert.match(limit.stderr, /--limit "nosuch"/);
  for (const h of lab.hosts) assert.is(ssh(h, 'test -f /tmp/bad-input && echo yes || echo no'), 'no');
});

test.after(async () => {
  await lab?.down();
});

test.run();
