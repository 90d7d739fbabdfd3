// Jump hosts: one that cannot be resolved is an error, never a silent direct connection (which
// would go around the bastion a fleet sits behind), and jumps that go round in a cycle are bad
// input at their line, from `berth validate` and before `berth apply` connects anything.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parse } from 'yaml';
import { hostTarget } from '../controller/inventory/host-target.js';
import { resolveInventory } from '../controller/inventory/resolve.js';

const root = new URL('..', import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'berth-jumps-'));
const sshConfig = join(dir, 'ssh_config');
writeFileSync(sshConfig, 'Host bastion-alias\n  HostName 127.0.0.1\n  ProxyJump ops@127.0.0.1:99999\nHost known-alias\n  HostName 127.0.0.1\n');
const env = { ...process.env, BERTH_SSH_CONFIG: sshConfig, BERTH_CACHE_DIR: join(dir, 'cache'), HOME: dir };

const tsx = import.meta.resolve('tsx');
function berth(...args: string[]) {
  const r = spawnSync(process.execPath, ['--import', tsx, join(root, 'cli/main.ts'), ...args], { cwd: dir, encoding: 'utf8', env, timeout: 60_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('berth validate: jump cycles, a host that jumps through itself, and a jump naming no host, each at its line', () => {
  writeFileSync(
    join(dir, 'cycles.yml'),
    [
      'ssh: { user: root }', //                   1
      'hosts:', //                                2
      '  a: { address: 10.0.0.1, jump: b }', //   3
      '  b: { address: 10.0.0.2, jump: a }', //   4
      '  c: { address: 10.0.0.3, jump: c }', //   5
      '  d: { address: 10.0.0.4, jump: bastoin }', // 6
      '  bastion: { address: 10.0.0.9 }', //      7
      '  e: { jump: known-alias }', //            8
      '  f: { jump: admin@gw.example:2222 }', //  9
    ].join('\n') + '\n',
  );
  const r = berth('validate', 'cycles.yml');
  assert.is(r.code, 2, r.stdout + r.stderr);
  const lines = r.stderr.split('\n').filter((l) => /^cycles\.yml:\d+:\d+:/.test(l));
  assert.equal(lines, [
    'cycles.yml:3:33: jump hosts form a cycle: a -> b -> a',
    'cycles.yml:5:33: host "c" names itself as its jump host',
    'cycles.yml:6:33: jump: "bastoin" names no host of the inventory (nor a Host of your ssh_config)',
  ]);
  assert.match(r.stderr, /hint: did you mean "bastion"\?/);
  assert.match(r.stderr, /give it jump: none/);
});

test('berth validate: a cycle through the default jump host, in a playbook\'s inline inventory', () => {
  writeFileSync(
    join(dir, 'inline.yml'),
    [
      'inventory:', //                              1
      '  ssh: { jump: b }', //                      2
      '  hosts:', //                                3
      '    a:', //                                  4
      '    b: { jump: a }', //                      5
      'plays:', //                                  6
      '  - hosts: all', //                          7
    ].join('\n') + '\n',
  );
  const r = berth('validate', 'inline.yml');
  assert.is(r.code, 2, r.stdout + r.stderr);
  assert.match(r.stderr, /^inline\.yml:2:16: jump hosts form a cycle: a -> b -> a\n/);
});

test('a jump host that cannot be resolved fails the run before it connects, instead of a direct connection', () => {
  // h1 sits behind the inventory host "gate", whose own ssh_config ProxyJump is no address. The
  // old code dropped the jump and connected to h1 directly (here: a closed port, exit 3).
  writeFileSync(join(dir, 'behind.yml'), 'hosts:\n  gate: { address: bastion-alias }\n  h1: { address: 127.0.0.1, port: 1, jump: gate }\n');
  writeFileSync(join(dir, 'site.yml'), 'inventory: behind.yml\nplays:\n  - hosts: h1\n    tasks:\n      - ping:\n');
  const r = berth('apply', 'site.yml', '--json');
  assert.is(r.code, 2, r.stdout + r.stderr);
  assert.match(r.stderr, /cannot resolve jump host gate of h1: jump host "ops@127\.0\.0\.1:99999" is not \[user@\]host\[:port\]/);
  assert.not.match(r.stdout, /host-connecting|host-unreachable/);
});

test('hostTarget: a chain of inventory jumps resolves hop by hop, and a cycle is an error, not a stack overflow', () => {
  const inv = resolveInventory(parse('hosts:\n  a: { address: 10.0.0.1, jump: b }\n  b: { address: 10.0.0.2, jump: c }\n  c: { address: 10.0.0.3 }\n  x: { jump: y }\n  y: { jump: x }\n'), '<inline>');
  const opts = { sshConfigPath: null, home: dir, localUser: 'op', env: {} };
  const a = hostTarget(inv, inv.byName.get('a')!, opts);
  assert.ok(a.ok, JSON.stringify(!a.ok && a.error));
  if (a.ok) assert.equal([a.value.host, a.value.jump?.host, a.value.jump?.jump?.host, a.value.jump?.jump?.jump], ['10.0.0.1', '10.0.0.2', '10.0.0.3', undefined]);
  const x = hostTarget(inv, inv.byName.get('x')!, opts);
  assert.not.ok(x.ok);
  if (!x.ok) {
    assert.is(x.error.message, 'jump hosts form a cycle: x -> y -> x');
    assert.is(x.error.exit, 2);
  }
});

test.after(() => rmSync(dir, { recursive: true, force: true }));
test.run();
