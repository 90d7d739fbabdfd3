// The pulumi inventory provider: a saved `pulumi stack output --json` (berthHosts, berthSsh,
// berthVars) becomes hosts, groups, connection settings and pinned host keys; bad outputs are
// named precisely. Asking a stack goes through the Automation API, which drives the pulumi CLI:
// that CLI is not installable here, so a stand-in `pulumi` script answers its calls.
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { resolveInventory } from '../controller/inventory/resolve.js';
import { inventorySource } from '../controller/inventory/source.js';
import { pulumiInventory } from '../providers/pulumi/provider.js';
import { UNKNOWN } from '../providers/pulumi/playbook-provider.js';

const fixtures = new URL('./fixtures/providers/pulumi/', import.meta.url).pathname;
const noFile = () => {
  throw new Error('no inventory file is read');
};
let state: string;
const savedState = process.env.BERTH_STATE_DIR;

test.before(() => {
  state = mkdtempSync(join(tmpdir(), 'berth-test-pulumi-state-'));
  process.env.BERTH_STATE_DIR = state;
});
test.after(() => {
  if (savedState === undefined) delete process.env.BERTH_STATE_DIR;
  else process.env.BERTH_STATE_DIR = savedState;
  rmSync(state, { recursive: true, force: true });
});

const fromFile = (file: string) => inventorySource({ provider: 'pulumi', outputs_file: file }, { playbookPath: join(fixtures, 'site.yml'), where: 'site.yml:2:12', loadFile: noFile });

test('a saved stack output becomes an inventory: hosts, groups from each host, ssh defaults and vars', () => {
  const src = fromFile('stack.json');
  assert.ok(src.ok, JSON.stringify(!src.ok && src.error));
  assert.is(src.value.source, join(fixtures, 'stack.json'));
  const inv = resolveInventory(src.value.doc, src.value.source);
  assert.equal(inv.hosts, ['web1', 'web2', 'db1']);
  assert.equal(inv.groups.get('web'), ['web1', 'web2']);
  assert.equal(inv.groups.get('canary'), ['web2']);
  const web2 = inv.byName.get('web2')!;
  assert.equal([web2.connection.address, web2.connection.port, web2.connection.user, web2.connection.become], ['203.0.113.12', 2222, 'admin', true]);
  assert.is(web2.connection.key, join(fixtures, 'keys/fleet_ed25519'), 'relative key paths are relative to the outputs file');
  const db1 = inv.byName.get('db1')!;
  assert.is(db1.connection.user, 'debian', 'berthSsh is every host\'s default');
  assert.is(db1.jumpHost, 'web1');
  assert.equal(inv.byName.get('web1')!.vars, { env: 'prod', zone: 'eu-west-1a' });
});

test('a host key in the outputs is pinned for that host; hosts without one keep the operator\'s known_hosts', () => {
  const src = fromFile('stack.json');
  assert.ok(src.ok);
  const kh = src.value.doc.hosts!.web1!.known_hosts!;
  assert.ok(kh.startsWith(join(state, 'pulumi')), kh);
  assert.match(readFileSync(kh, 'utf8'), /^203\.0\.113\.11 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAINAyymqM6eNM6g559z5KkyGkzQec\/Rf4f5PFArAHUd8A$/m);
  assert.is(src.value.doc.hosts!.web2!.known_hosts, undefined);
});

test('bad outputs: each problem named by its path, with exit code 2', () => {
  const bad = fromFile('bad-shape.json');
  assert.ok(!bad.ok);
  const text = bad.error.map((e) => e.message).join('\n');
  assert.match(text, /berthHosts\.1\.name: /);
  assert.match(text, /berthHosts\.1\.port: /);
  assert.match(text, /berthHosts\.1\.address: is required/);
  assert.match(text, /berthHosts\.1\.color: is not a known key/);
  assert.ok(bad.error.every((e) => e.exit === 2 && e.where === 'site.yml:2:12'));

  const dup = fromFile('duplicate.json');
  assert.ok(!dup.ok);
  assert.match(dup.error.map((e) => e.message).join('\n'), /host web1 is listed twice[\s\S]*group db1, which is also a host's name/);

  const none = fromFile('no-hosts.json');
  assert.ok(!none.ok && none.error[0]!.code === 'inventory.pulumi-no-hosts');
  assert.match(none.error[0]!.message, /it has: vpcId/);

  const missing = fromFile('nope.json');
  assert.ok(!missing.ok && missing.error[0]!.code === 'inventory.pulumi-outputs-missing');
  assert.match(missing.error[0]!.hint!, /--show-secrets/);
});

test('outputs saved without --show-secrets say so', () => {
  const r = fromFile('hidden-secret.json');
  assert.ok(!r.ok);
  assert.is(r.error[0]!.code, 'inventory.pulumi-secret-hidden');
  assert.match(r.error[0]!.message, /berthVars\.db_password/);
  assert.match(r.error[0]!.hint!, /--show-secrets/);
});

test('asking a stack without the pulumi CLI on PATH is an error that points at outputs_file', () => {
  const r = pulumiInventory({ provider: 'pulumi', stack: 'dev' }, { baseDir: fixtures, where: 'site.yml:2:12', env: { ...process.env, PATH: '/nonexistent' } });
  assert.ok(!r.ok);
  assert.is(r.error[0]!.code, 'inventory.pulumi-cli-missing');
  assert.match(r.error[0]!.hint!, /outputs_file/);
});

test('a stack is read through the Automation API (here driving a stand-in pulumi CLI)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'berth-test-pulumi-cli-'));
  try {
    writeFileSync(join(dir, 'Pulumi.yaml'), 'name: fleet\nruntime: nodejs\n');
    writeFileSync(join(dir, 'outputs.json'), readFileSync(join(fixtures, 'stack.json')));
    // Answers the calls the Automation API makes, and records them.
    const cli = join(dir, 'pulumi');
    writeFileSync(cli, `#!/bin/sh\necho "$@" >> "${dir}/calls"\ncase "$1 $2" in\n  "version "*) echo v3.150.0 ;;\n  "stack select") ;;\n  "stack output") cat "${dir}/outputs.json" ;;\n  *) echo "unexpected: $*" >&2; exit 3 ;;\nesac\n`);
    chmodSync(cli, 0o755);
    const r = pulumiInventory({ provider: 'pulumi', stack: 'prod', dir: '.' }, { baseDir: dir, where: 'site.yml:2:12', env: { ...process.env, PATH: `${dir}:${process.env.PATH}` } });
    assert.ok(r.ok, JSON.stringify(!r.ok && r.error));
    assert.equal(Object.keys(r.value.doc.hosts!), ['web1', 'web2', 'db1']);
    assert.is(r.value.source, join(dir, 'Pulumi.yaml'));
    const calls = readFileSync(join(dir, 'calls'), 'utf8');
    assert.match(calls, /^stack select --stack prod/m);
    assert.match(calls, /^stack output --json --show-secrets --stack prod/m);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("the resource's unknown-value marker is the SDK's", async () => {
  const rpc = await import('@pulumi/pulumi/runtime/rpc.js');
  assert.is(UNKNOWN, rpc.unknownValue);
});

test.run();
