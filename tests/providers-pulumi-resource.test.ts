// berth.Playbook's operations called directly, the way Pulumi's provider host calls them, against
// two real lab hosts over SSH (there is no pulumi CLI here, so no engine): check asks the agents
// what would change (the plan preview shows), diff sees drift, create/update converge, delete runs
// the teardown playbook. The last tests go through the serialized provider stub, loaded the way
// the SDK's dynamic provider host loads it.
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import * as pulumi from '@pulumi/pulumi';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as ops from '../providers/pulumi/playbook-provider.js';
import { lazyProvider, providerModules } from '../providers/pulumi/resource.js';
import type { BerthHost } from '../providers/pulumi/hosts-schema.js';
import { startLab, type TestLab } from './helpers/lab.js';

let lab: TestLab;
let hosts: BerthHost[];
let playbook: string;
const FILE = '/etc/berth-pulumi';

const onHost = (i: number, ...cmd: string[]) => execFileSync('docker', ['exec', lab.hosts[i]!.container, ...cmd], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
const content = (i: number) => {
  try {
    return onHost(i, 'cat', FILE);
  } catch {
    return undefined;
  }
};

const inputs = (over: Partial<ops.PlaybookInputs> = {}): ops.PlaybookInputs => ({ playbook, hosts, ssh: { key: lab.keyPath }, vars: { release: 'r1' }, ...over });
/** What the engine does for `pulumi preview` / `up`: check the new inputs, then diff them with the stored outputs. */
async function preview(olds: ops.PlaybookOutputs, news: ops.PlaybookInputs) {
  const checked = await ops.check(olds, news);
  assert.equal(checked.failures, []);
  return { inputs: checked.inputs, diff: await ops.diff('id', olds, checked.inputs) };
}

test.before(async () => {
  lab = await startLab({ name: 'pulumi', hosts: 2 });
  hosts = lab.hosts.map((h, i) => ({ name: h.name, address: h.address, port: h.port, user: 'root', known_hosts: lab.knownHostsPath, groups: i === 0 ? ['web'] : [] }));
  playbook = join(lab.dir, 'site.yml');
  writeFileSync(playbook, [
    'name: pulumi-resource',
    'plays:',
    '  - hosts: all',
    '    tasks:',
    `      - copy: { dest: ${FILE}, content: "release {{ release }}\\n" }`,
    '  - hosts: web',
    '    tasks:',
    '      - file: { path: /srv/web, state: directory }',
    '',
  ].join('\n'));
});

test.after(async () => {
  await lab?.down();
});

test('check rejects what cannot work before anything connects, and leaves values not known yet alone', async () => {
  const missing = await ops.check({}, inputs({ playbook: join(lab.dir, 'nope.yml') }));
  assert.equal(missing.failures, [{ property: 'playbook', reason: `${join(lab.dir, 'nope.yml')} does not exist` }]);
  const badHost = await ops.check({}, inputs({ hosts: [{ ...hosts[0]!, port: 0 }, hosts[0]!] }));
  assert.equal(badHost.failures.map((f) => f.property), ['hosts']);
  assert.match(badHost.failures[0]!.reason, /hosts\.0\.port/);
  const badPlaybook = await ops.check({}, inputs({ playbook: 'name: x\nplays:\n  - hosts: all\n    tasks:\n      - frobnicate: {}\n' }));
  assert.equal(badPlaybook.failures.map((f) => f.property), ['playbook']);
  // First preview of a new stack: the VMs' addresses are not known yet.
  const unknown = await ops.check({}, inputs({ hosts: [{ name: 'web1', address: ops.UNKNOWN }] }));
  assert.equal(unknown.failures, []);
  assert.is(unknown.inputs.plan, undefined);
  assert.match(unknown.inputs.playbookHash!, /^[0-9a-f]{64}$/);
  assert.equal(await ops.diff('id', {} as ops.PlaybookOutputs, unknown.inputs), { changes: true, replaces: [] });
});

let state: ops.PlaybookOutputs;

test('check asks the hosts what the playbook would change, without changing it (the plan preview shows)', async () => {
  const checked = await ops.check({}, inputs());
  assert.equal(checked.failures, []);
  assert.equal(Object.keys(checked.inputs.plan!).sort(), ['h1', 'h2']);
  assert.match(checked.inputs.plan!.h1!.join('\n'), /\/etc\/berth-pulumi/);
  assert.match(checked.inputs.plan!.h1!.join('\n'), /\/srv\/web/);
  assert.not.match(checked.inputs.plan!.h2!.join('\n'), /\/srv\/web/, 'h2 is not in group web');
  assert.is(content(0), undefined, 'check mode changed nothing');
});

test('create converges every host and reports a recap per host; nothing is pending after it', async () => {
  const checked = await ops.check({}, inputs());
  const created = await ops.create(checked.inputs);
  assert.match(created.id, /^[0-9a-f-]{36}$/);
  state = created.outs;
  assert.is(content(0), 'release r1\n');
  assert.is(content(1), 'release r1\n');
  assert.ok(state.recap.h1!.changed >= 2 && state.recap.h2!.changed >= 1, JSON.stringify(state.recap));
  assert.equal(state.plan, {});
  assert.equal(state.releases, {});
  assert.match(state.changed.h1!.join('\n'), /berth-pulumi/);
});

test('a preview of a converged fleet finds nothing to do', async () => {
  const p = await preview(state, inputs());
  assert.equal(p.inputs.plan, {});
  assert.equal(p.diff, { changes: false, replaces: [] });
});

test('drift on one host (a file changed by hand) makes the preview report changes, and update puts it back', async () => {
  onHost(1, 'sh', '-c', `echo tampered > ${FILE}`);
  const p = await preview(state, inputs());
  assert.equal(Object.keys(p.inputs.plan!), ['h2']);
  assert.is(p.diff.changes, true);
  const updated = await ops.update('id', state, p.inputs);
  state = updated.outs;
  assert.is(content(1), 'release r1\n');
  assert.equal(Object.keys(state.changed), ['h2'], 'only the drifted host changed');
  assert.equal((await preview(state, inputs())).diff.changes, false);
});

test('changed inputs (vars) are a change; update applies them', async () => {
  const p = await preview(state, inputs({ vars: { release: 'r2' } }));
  assert.is(p.diff.changes, true);
  state = (await ops.update('id', state, p.inputs)).outs;
  assert.is(content(0), 'release r2\n');
  assert.equal(state.vars, { release: 'r2' });
});

test('an unreachable host fails create with berth\'s message; the other host is still converged', async () => {
  const gone: BerthHost = { name: 'gone', address: '127.0.0.1', port: 1, user: 'root', known_hosts: lab.knownHostsPath };
  const err = await ops.create({ ...inputs({ vars: { release: 'r3' } }), hosts: [...hosts, gone] }).then(() => undefined, (e: Error) => e);
  assert.ok(err, 'create must reject');
  assert.match(err!.message, /gone: unreachable/);
  assert.is(content(0), 'release r3\n');
});

test('the serialized provider stub, loaded as the SDK\'s provider host loads it, runs the same operations', async () => {
  // As the SDK's dynamic.Resource does: serialize a function returning the provider object.
  const provider = lazyProvider(providerModules());
  const sf = await pulumi.runtime.serializeFunction(() => provider, { allowSecrets: true });
  const rfs = createRequire(createRequire(import.meta.url).resolve('@pulumi/pulumi/cmd/dynamic-provider/index.js'))('require-from-string') as (code: string) => { handler: () => pulumi.dynamic.ResourceProvider };
  const stub = rfs(sf.text).handler();
  const checked = await stub.check!(state, inputs({ vars: { release: 'r3' } }));
  assert.equal(checked.failures, []);
  assert.equal(checked.inputs.plan, {}, 'r3 is what the failed create left on both hosts');
  const d = await stub.diff!('id', state, checked.inputs);
  assert.is(d.changes, true, 'vars differ from the stored r2');
});

test('delete runs the teardown playbook (inline here); without one it touches nothing', async () => {
  await ops.delete('id', { ...state, teardown: undefined });
  assert.ok(content(0) !== undefined, 'no teardown: hosts stay as they are');
  const teardown = `name: teardown\nplays:\n  - hosts: all\n    tasks:\n      - file: { path: ${FILE}, state: absent }\n`;
  await ops.delete('id', { ...state, teardown });
  assert.is(content(0), undefined);
  assert.is(content(1), undefined);
});

test.run();
