// The vagrant inventory provider without Vagrant: recorded `vagrant ssh-config` output (docker,
// VirtualBox, libvirt) becomes hosts and groups; a stand-in `vagrant` program (BERTH_VAGRANT)
// drives the whole provider, including how host keys are pinned per machine.
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ok } from '../controller/errors.js';
import { resolveInventory } from '../controller/inventory/resolve.js';
import { inventorySource } from '../controller/inventory/source.js';
import { groupOfName, vagrantInventoryDoc } from '../providers/vagrant/inventory.js';
import { vagrantInventory } from '../providers/vagrant/provider.js';
import { parseVagrantSshConfig } from '../providers/vagrant/ssh-config.js';
import type { KeyScanner } from '../providers/vagrant/host-keys.js';

const fixtures = new URL('./fixtures/providers/vagrant/', import.meta.url).pathname;
const fixture = (name: string) => readFileSync(join(fixtures, name), 'utf8');
const parse = (name: string) => {
  const r = parseVagrantSshConfig(fixture(name), 'test');
  if (!r.ok) throw new Error(JSON.stringify(r.error));
  return r.value;
};

test('docker provider output (recorded from the root Vagrantfile): root on forwarded 127.0.0.1 ports, Vagrant checks no host keys', () => {
  const ms = parse('docker.ssh-config');
  assert.equal(ms.map((m) => [m.name, m.address, m.port, m.user]), [['vm1', '127.0.0.1', 2300, 'root'], ['vm2', '127.0.0.1', 2301, 'root']]);
  assert.equal(ms[0]!.identityFiles, ['/home/op/berth-env/.vagrant/berth/id_ed25519']);
  assert.ok(ms.every((m) => m.hostKeysUnchecked && !m.proxyCommand));
  const doc = vagrantInventoryDoc(ms, { knownHosts: '/kh' });
  assert.equal(doc.hosts!.vm1, { address: '127.0.0.1', port: 2300, user: 'root', key: '/home/op/berth-env/.vagrant/berth/id_ed25519', known_hosts: '/kh', become: false, vars: { vagrant_machine: 'vm1' } });
  assert.equal(doc.groups, { vagrant: { hosts: ['vm1', 'vm2'] }, vm: { hosts: ['vm1', 'vm2'] } });
});

test('VirtualBox output: the vagrant user becomes root through sudo, quoted key paths keep their space, groups come from the names', () => {
  const ms = parse('virtualbox.ssh-config');
  assert.equal(ms.map((m) => `${m.name}@${m.port}`), ['web1@2222', 'web2@2200', 'db1@2201']);
  assert.equal(ms[2]!.identityFiles, ['/home/op/my shop/.vagrant/machines/db1/virtualbox/private_key', '/home/op/.vagrant.d/insecure_private_key']);
  const doc = vagrantInventoryDoc(ms);
  assert.is(doc.hosts!.db1!.key, '/home/op/my shop/.vagrant/machines/db1/virtualbox/private_key', 'none exists here: the first, as ssh would try first');
  assert.ok(Object.values(doc.hosts!).every((h) => h!.become === true && h!.user === 'vagrant'));
  assert.equal(doc.groups, { vagrant: { hosts: ['web1', 'web2', 'db1'] }, web: { hosts: ['web1', 'web2'] }, db: { hosts: ['db1'] } });
});

test('the first key file that exists is the one used', () => {
  const dir = mkdtempSync(join(tmpdir(), 'berth-vagrant-keys-'));
  try {
    const second = join(dir, 'insecure_private_key');
    writeFileSync(second, 'k');
    const doc = vagrantInventoryDoc([{ name: 'a', address: 'h', port: 22, user: 'vagrant', identityFiles: [join(dir, 'missing'), second], hostKeysUnchecked: true }]);
    assert.is(doc.hosts!.a!.key, second);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('libvirt output: machines on their own IPs, port 22; a machine whose Vagrantfile verifies host keys keeps the operator\'s known_hosts', () => {
  const ms = parse('libvirt.ssh-config');
  assert.equal(ms.map((m) => [m.name, m.address, m.port, m.hostKeysUnchecked]), [['node-1', '192.168.121.34', 22, true], ['node-2', '192.168.121.87', 22, false]]);
  const doc = vagrantInventoryDoc(ms, { knownHosts: '/pinned' });
  assert.is(doc.hosts!['node-1']!.known_hosts, '/pinned');
  assert.is(doc.hosts!['node-2']!.known_hosts, undefined);
  assert.equal(doc.groups!.node, { hosts: ['node-1', 'node-2'] });
});

test('group names: a trailing number (and its separator) goes', () => {
  const cases: Array<[string, string | undefined]> = [['web1', 'web'], ['web-2', 'web'], ['db_03', 'db'], ['vm10', 'vm'], ['k8s-node1', 'k8s-node'], ['default', undefined], ['web', undefined], ['123', undefined], ['web1a', undefined]];
  for (const [name, group] of cases) assert.is(groupOfName(name), group, name);
});

test('groups from the reference replace a derived group of the same name and add new ones', () => {
  const doc = vagrantInventoryDoc(parse('virtualbox.ssh-config'), { groups: { web: ['web1'], canary: ['web2'] } });
  assert.equal(doc.groups!.web, { hosts: ['web1'] });
  assert.equal(doc.groups!.canary, { hosts: ['web2'] });
  assert.equal(doc.groups!.db, { hosts: ['db1'] });
});

// ---- the whole provider, with a stand-in for the vagrant program ----

interface Env {
  dir: string;
  env: NodeJS.ProcessEnv;
  machineId(name: string, id: string, provider?: string): void;
  cleanup(): void;
}

function vagrantEnv(output: string, opts: { code?: number; stderr?: string; vagrantfile?: boolean } = {}): Env {
  const dir = mkdtempSync(join(tmpdir(), 'berth-vagrant-env-'));
  if (opts.vagrantfile !== false) writeFileSync(join(dir, 'Vagrantfile'), '# stand-in\n');
  writeFileSync(join(dir, 'out.txt'), output);
  writeFileSync(join(dir, 'err.txt'), opts.stderr ?? '');
  const bin = join(dir, 'fake-vagrant');
  // It checks that berth pins the Vagrantfile's folder and turns the checkpoint call off.
  writeFileSync(bin, `#!/bin/sh\n[ "$1" = ssh-config ] || exit 9\n[ "$VAGRANT_CWD" = "${dir}" ] || exit 8\n[ "$VAGRANT_CHECKPOINT_DISABLE" = 1 ] || exit 7\ncat "${dir}/out.txt"; cat "${dir}/err.txt" >&2; exit ${opts.code ?? 0}\n`);
  chmodSync(bin, 0o755);
  return {
    dir,
    env: { ...process.env, BERTH_VAGRANT: bin, VAGRANT_DOTFILE_PATH: '' },
    machineId(name, id, provider = 'virtualbox') {
      mkdirSync(join(dir, '.vagrant', 'machines', name, provider), { recursive: true });
      writeFileSync(join(dir, '.vagrant', 'machines', name, provider, 'id'), id);
    },
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

function scanner(keys: Record<string, string>): KeyScanner & { calls: string[] } {
  const calls: string[] = [];
  const scan = ((address: string, port: number) => {
    calls.push(`${address}:${port}`);
    const k = keys[`${address}:${port}`];
    return ok(k ? [k] : []);
  }) as KeyScanner & { calls: string[] };
  scan.calls = calls;
  return scan;
}

test('host keys are learned once per machine, pinned by machine id, and learned again only for a recreated machine', () => {
  const e = vagrantEnv(fixture('virtualbox.ssh-config'));
  try {
    for (const [n, id] of [['web1', 'uuid-w1'], ['web2', 'uuid-w2'], ['db1', 'uuid-d1']]) e.machineId(n!, id!);
    const keys = { '127.0.0.1:2222': 'ssh-ed25519 AAAAweb1', '127.0.0.1:2200': 'ssh-ed25519 AAAAweb2', '127.0.0.1:2201': 'ssh-ed25519 AAAAdb1' };
    const scan = scanner(keys);
    const run = () => vagrantInventory({ provider: 'vagrant' }, { baseDir: e.dir, where: 'pb.yml:2:12', env: e.env, options: { scan } });

    const first = run();
    assert.ok(first.ok, JSON.stringify(!first.ok && first.error));
    assert.is(scan.calls.length, 3);
    const kh = join(e.dir, '.vagrant', 'berth', 'known_hosts');
    assert.is(first.value.doc.hosts!.web1!.known_hosts, kh);
    assert.is(first.value.doc.hosts!.web1!.vars!.vagrant_provider, 'virtualbox');
    assert.is(first.value.source, join(e.dir, 'Vagrantfile'));
    const lines = readFileSync(kh, 'utf8').split('\n').filter((l) => l && !l.startsWith('#'));
    assert.equal(lines, ['[127.0.0.1]:2222 ssh-ed25519 AAAAweb1', '[127.0.0.1]:2200 ssh-ed25519 AAAAweb2', '[127.0.0.1]:2201 ssh-ed25519 AAAAdb1']);

    assert.ok(run().ok);
    assert.is(scan.calls.length, 3, 'a second run asks no machine again');

    // web2 destroyed and created again: a new id, new keys; a key that changes under the same id is not re-learned.
    e.machineId('web2', 'uuid-w2-new');
    keys['127.0.0.1:2200'] = 'ssh-ed25519 AAAAweb2new';
    keys['127.0.0.1:2222'] = 'ssh-ed25519 AAAAimpostor';
    assert.ok(run().ok);
    assert.equal(scan.calls.slice(3), ['127.0.0.1:2200']);
    const after = readFileSync(kh, 'utf8');
    assert.match(after, /\[127\.0\.0\.1\]:2200 ssh-ed25519 AAAAweb2new/);
    assert.match(after, /\[127\.0\.0\.1\]:2222 ssh-ed25519 AAAAweb1/);
    assert.not.match(after, /impostor/);
  } finally {
    e.cleanup();
  }
});

test('a corrupt pin store is an error, not a silent re-learn of every key', () => {
  const e = vagrantEnv(fixture('docker.ssh-config'));
  try {
    mkdirSync(join(e.dir, '.vagrant', 'berth'), { recursive: true });
    writeFileSync(join(e.dir, '.vagrant', 'berth', 'host-keys.json'), '{ not json');
    const r = vagrantInventory({ provider: 'vagrant' }, { baseDir: e.dir, where: 'pb.yml:2:12', env: e.env, options: { scan: scanner({}) } });
    assert.ok(!r.ok);
    assert.is(r.error[0]!.code, 'inventory.vagrant-host-keys');
    assert.match(r.error[0]!.hint!, /delete the file/);
  } finally {
    e.cleanup();
  }
});

test('machines that are not up are left out; none up is an error that says `vagrant up`', () => {
  const notReady = 'The provider for this Vagrant-managed machine is reporting that it\nis not yet ready for SSH. Depending on your provider this can carry\n\nmore text';
  const some = vagrantEnv(fixture('docker.ssh-config').split('\n\n')[0] + '\n', { code: 1, stderr: notReady });
  const none = vagrantEnv('', { code: 1, stderr: notReady });
  try {
    const r = vagrantInventory({ provider: 'vagrant' }, { baseDir: some.dir, where: 'w', env: some.env, options: { scan: scanner({}) } });
    assert.ok(r.ok);
    assert.equal(Object.keys(r.value.doc.hosts!), ['vm1']);
    // vm1 answered no key scan: it stays unpinned, so verification fails for it rather than trusting a later answer.
    assert.not.match(readFileSync(r.value.doc.hosts!.vm1!.known_hosts!, 'utf8'), /127\.0\.0\.1/);
    const n = vagrantInventory({ provider: 'vagrant' }, { baseDir: none.dir, where: 'pb.yml:2:12', env: none.env });
    assert.ok(!n.ok);
    assert.is(n.error[0]!.code, 'inventory.vagrant-none-up');
    assert.match(n.error[0]!.message, /not yet ready for SSH/);
    assert.match(n.error[0]!.hint!, /vagrant up/);
  } finally {
    some.cleanup();
    none.cleanup();
  }
});

test('bad references: no Vagrantfile, a group naming no machine, a machine behind a ProxyCommand', () => {
  const noFile = vagrantEnv('', { vagrantfile: false });
  const vb = vagrantEnv(fixture('virtualbox.ssh-config'));
  const remote = vagrantEnv(fixture('libvirt-remote.ssh-config'));
  try {
    const a = vagrantInventory({ provider: 'vagrant', dir: '.' }, { baseDir: noFile.dir, where: 'pb.yml:2:12', env: noFile.env });
    assert.ok(!a.ok && a.error[0]!.code === 'inventory.vagrant-no-vagrantfile' && a.error[0]!.where === 'pb.yml:2:12');
    const b = vagrantInventory({ provider: 'vagrant', groups: { web: ['web1', 'wbe2'] } }, { baseDir: vb.dir, where: 'w', env: vb.env, options: { scan: scanner({}) } });
    assert.ok(!b.ok);
    assert.is(b.error[0]!.code, 'inventory.vagrant-unknown-machine');
    assert.match(b.error[0]!.message, /wbe2/);
    const c = vagrantInventory({ provider: 'vagrant' }, { baseDir: remote.dir, where: 'w', env: remote.env });
    assert.ok(!c.ok && c.error[0]!.code === 'inventory.vagrant-proxy-command');
  } finally {
    noFile.cleanup();
    vb.cleanup();
    remote.cleanup();
  }
});

test('a playbook\'s `inventory: { provider: vagrant }` resolves to hosts, groups and connections like any inventory', () => {
  const e = vagrantEnv(fixture('virtualbox.ssh-config'));
  const saved = process.env.BERTH_VAGRANT;
  try {
    // Keys pinned by an earlier run (no machine ids: nothing to compare), so nothing is scanned here.
    mkdirSync(join(e.dir, '.vagrant', 'berth'), { recursive: true });
    writeFileSync(join(e.dir, '.vagrant', 'berth', 'host-keys.json'), JSON.stringify({ version: 1, machines: { web1: { id: '', keys: ['ssh-ed25519 AAAAw1'], learnedAt: 'x' }, web2: { id: '', keys: ['ssh-ed25519 AAAAw2'], learnedAt: 'x' }, db1: { id: '', keys: ['ssh-ed25519 AAAAd1'], learnedAt: 'x' } } }));
    process.env.BERTH_VAGRANT = e.env.BERTH_VAGRANT;
    const src = inventorySource({ provider: 'vagrant', dir: '.' }, { playbookPath: join(e.dir, 'site.yml'), where: 'site.yml:2:12', loadFile: () => { throw new Error('no file is read'); } });
    assert.ok(src.ok, JSON.stringify(!src.ok && src.error));
    const inv = resolveInventory(src.value.doc, src.value.source);
    assert.equal(inv.groups.get('web'), ['web1', 'web2']);
    const db1 = inv.byName.get('db1')!;
    assert.equal(db1.connection, { name: 'db1', address: '127.0.0.1', port: 2201, user: 'vagrant', key: '/home/op/my shop/.vagrant/machines/db1/virtualbox/private_key', known_hosts: join(e.dir, '.vagrant', 'berth', 'known_hosts'), become: true, jump: undefined });
    assert.equal(db1.groups, ['all', 'vagrant', 'db']);
  } finally {
    if (saved === undefined) delete process.env.BERTH_VAGRANT;
    else process.env.BERTH_VAGRANT = saved;
    e.cleanup();
  }
});

test.run();
