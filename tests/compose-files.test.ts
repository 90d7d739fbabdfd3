// A Compose file's own files (issue 21, point 4): what a relative bind mount names, the file's
// configs and secrets. Each goes into the run's blob registry and the plan ships it by content
// hash into the project's folder on the host, bound from there; its content's hash is part of
// the container's config hash. Problems are located in the Compose file. Controller code only,
// through the loader and the plan as apply builds them (the lab test is services-compose-files).
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { configHash, changedKeys, keyHashes } from '../agent/services/hash.js';
import { BlobRegistry } from '../controller/blobs.js';
import { resolveInventory } from '../controller/inventory/resolve.js';
import { buildPlan } from '../controller/run/build-plan.js';
import { composeSecretValues } from '../controller/run/compose-secrets.js';
import { loadForRun } from '../controller/run/load-for-run.js';
import { secretsPerHost } from '../controller/run/plan-secrets.js';
import type { ServiceSpec } from '../modules/service-spec.js';
import type { HostFacts } from '../protocol/agent-protocol.js';

const scratch = mkdtempSync(join(tmpdir(), 'berth-compose-files-'));

const COMPOSE = `name: shipped
services:
  app:
    image: busybox
    volumes:
      - ./conf:/etc/app:ro
      - data:/data
      - type: bind
        source: ./motd.txt
        target: /etc/motd
    configs:
      - greeting
      - source: inline
        target: /etc/inline.conf
        mode: 0440
    secrets:
      - db_password
      - source: token
        target: api_token
        uid: "1000"
        gid: "1000"
        mode: 0440
volumes:
  data: {}
configs:
  greeting: { file: ./greeting.txt }
  inline: { content: "port=\${PORT:-80}" }
secrets:
  db_password: { file: ./db_password.txt }
  token: { environment: API_TOKEN }
`;

function project(name: string, files: Record<string, string> = {}): string {
  const dir = join(scratch, name);
  mkdirSync(join(dir, 'stack/conf/sub'), { recursive: true });
  const all: Record<string, string> = {
    'stack/compose.yaml': COMPOSE,
    'stack/conf/app.yml': 'level: info\n',
    'stack/conf/sub/extra.yml': 'extra: true\n',
    'stack/motd.txt': 'welcome\n',
    'stack/greeting.txt': 'hello\n',
    'stack/db_password.txt': 's3cret-db-pw\n',
    'site.yml': 'plays:\n  - hosts: all\n    compose: stack/compose.yaml\n',
    ...files,
  };
  for (const [p, text] of Object.entries(all)) writeFileSync(join(dir, p), text);
  return dir;
}

/** What a Debian host says of itself, as far as a plan reads it. */
const facts = {
  hostname: 'h1',
  os: { id: 'debian', version: '12', name: 'Debian GNU/Linux 12 (bookworm)', family: 'debian' },
  arch: 'x86_64',
  kernel: '6.1.0-18-amd64',
  cpus: 2,
  memoryBytes: 2 * 1024 ** 3,
  disk: { path: '/var/lib/berth', totalBytes: 20e9, freeBytes: 12e9 },
  init: 'systemd',
  user: { name: 'root', uid: 0 },
  node: '20.11.1',
  runtime: { installed: true, engine: 'docker', version: '24.0.7', running: true },
  containers: [],
  images: [],
  time: new Date().toISOString(),
} as unknown as HostFacts;

/** The converge task's spec for service app, planned as apply plans it, and the run's registry. */
function plan(dir: string) {
  process.env.API_TOKEN = 'tok-from-env-42';
  try {
    const loaded = loadForRun(join(dir, 'site.yml'));
    if (!loaded.ok) throw new Error(loaded.error.map((e) => `${e.where}: ${e.message}`).join('\n'));
    const { doc, path, where } = loaded.value;
    const inventory = resolveInventory({ hosts: { h1: { address: '127.0.0.1' } } }, 'hosts.yml');
    const blobs = new BlobRegistry();
    const o = { playbookPath: path, playbook: doc, where, inventory, extraVars: {}, secrets: [], secretVars: {}, tags: { only: [], skip: [] }, check: true, diff: false };
    const r = buildPlan(o, 0, inventory.byName.get('h1')!, facts, blobs);
    if (!r.ok) throw new Error(`${r.error.where}: ${r.error.message}`);
    const task = r.value.tasks.find((t) => t.module === 'services.converge')!;
    const masked = composeSecretValues(doc, path, where);
    return { spec: task.params as ServiceSpec, blobs, plan: r.value, masked };
  } finally {
    delete process.env.API_TOKEN;
  }
}

test('a relative bind mount, configs and secrets: shipped by content hash into the project folder and bound from there', () => {
  const { spec, blobs, plan: hostPlan, masked } = plan(project('ship'));
  const mounts = spec.main.mounts.map(({ shipped, ...m }) => ({ ...m, shipped: shipped ? 'hash' : undefined }));
  assert.equal(mounts, [
    { type: 'bind', source: 'shipped/files/conf', target: '/etc/app', readOnly: true, createHostPath: true, shipped: 'hash' },
    { type: 'volume', source: 'shipped_data', target: '/data', shipped: undefined },
    { type: 'bind', source: 'shipped/files/motd.txt', target: '/etc/motd', createHostPath: true, shipped: 'hash' },
    { type: 'bind', source: 'shipped/configs/app/greeting', target: '/greeting', readOnly: true, createHostPath: true, shipped: 'hash' },
    { type: 'bind', source: 'shipped/configs/app/inline', target: '/etc/inline.conf', readOnly: true, createHostPath: true, shipped: 'hash' },
    { type: 'bind', source: 'shipped/secrets/app/db_password', target: '/run/secrets/db_password', readOnly: true, createHostPath: true, shipped: 'hash' },
    { type: 'bind', source: 'shipped/secrets/app/token', target: '/run/secrets/api_token', readOnly: true, createHostPath: true, shipped: 'hash' },
  ]);
  const files = Object.fromEntries((spec.files ?? []).map((f) => [f.path, f]));
  assert.equal(Object.keys(files).sort(), [
    'shipped/configs/app/greeting',
    'shipped/configs/app/inline',
    'shipped/files/conf/app.yml',
    'shipped/files/conf/sub/extra.yml',
    'shipped/files/motd.txt',
    'shipped/secrets/app/db_password',
    'shipped/secrets/app/token',
  ]);
  const content = (p: string) => blobs.get(files[p].sha256)?.toString();
  assert.is(content('shipped/files/conf/sub/extra.yml'), 'extra: true\n');
  assert.is(content('shipped/configs/app/inline'), 'port=80', 'inline content, interpolated');
  assert.is(content('shipped/secrets/app/db_password'), 's3cret-db-pw\n');
  assert.is(content('shipped/secrets/app/token'), 'tok-from-env-42', 'an environment: source');
  assert.equal([files['shipped/files/conf/app.yml'].mode, files['shipped/configs/app/greeting'].mode, files['shipped/configs/app/inline'].mode], [0o644, 0o444, 0o440], "a bind keeps the controller's mode; a config is 0444 unless its mode says (0440 read as octal)");
  assert.equal([files['shipped/secrets/app/db_password'].mode, files['shipped/secrets/app/db_password'].uid], [0o400, undefined], 'a secret is 0400, owned by root');
  assert.equal([files['shipped/secrets/app/token'].mode, files['shipped/secrets/app/token'].uid, files['shipped/secrets/app/token'].gid], [0o440, 1000, 1000]);
  assert.ok(blobs.mayShare(files['shipped/files/conf/app.yml'].sha256), 'files pass from host to host');
  assert.not.ok(blobs.mayShare(files['shipped/secrets/app/db_password'].sha256), 'a secret never passes through another host');
  // The secrets are masked, and the host is told to mask them because its plan ships them.
  assert.equal(Object.values(masked).sort(), ['s3cret-db-pw', 'tok-from-env-42']);
  const narrowed = secretsPerHost(masked, blobs)(hostPlan);
  assert.equal([...narrowed.secrets].sort(), ['s3cret-db-pw', 'tok-from-env-42']);
  assert.not.match(JSON.stringify(narrowed.tasks), /s3cret-db-pw|tok-from-env-42/, 'the plan carries hashes, not secrets');
});

test("a changed file changes the container's config hash (volumes); the same files change nothing", () => {
  const a = plan(project('same-a')).spec.main;
  const b = plan(project('same-b')).spec.main;
  assert.is(configHash(a), configHash(b), 'the same content in another checkout: the same container');
  const changed = plan(project('changed', { 'stack/conf/sub/extra.yml': 'extra: false\n' })).spec.main;
  assert.is.not(configHash(changed), configHash(a));
  assert.equal(changedKeys(keyHashes(a), keyHashes(changed)), ['volumes']);
  const secret = plan(project('secret', { 'stack/db_password.txt': 'rotated\n' })).spec.main;
  assert.is.not(configHash(secret), configHash(a), 'a rotated secret rolls the service');
  const added = plan(project('added', { 'stack/conf/new.yml': 'new: 1\n' })).spec.main;
  assert.is.not(configHash(added), configHash(a), 'a new file in the folder too');
});

test('problems with shipped files are located in the Compose file, with a hint', () => {
  const dir = project('problems', {
    'stack/compose.yaml': [
      'services:',
      '  app:',
      '    image: busybox',
      '    volumes:',
      '      - ~/conf:/etc/app',
      '      - ../outside:/outside',
      '      - ./nothing-here:/empty',
      '    secrets:',
      '      - missing',
      '      - source: db_password',
      '        mode: rwx',
      '        owner: me',
      '    configs: [ext]',
      'configs:',
      '  ext:',
      '    external: true',
      '  named:',
      '    name: foo',
      '    file: ./greeting.txt',
      'secrets:',
      '  db_password: { file: ./db_password.txt }',
      '  nowhere: { file: ./no-such-file }',
      '  both: { file: ./db_password.txt, environment: X }',
      '',
    ].join('\n'),
  });
  const r = loadForRun(join(dir, 'site.yml'));
  assert.not.ok(r.ok);
  if (r.ok) return;
  const got = r.error.map((e) => `${e.where?.replace(/^.*stack\//, '')} ${e.message}`).sort();
  assert.equal(got, [
    'compose.yaml:11:15 services.app.secrets[1].mode: expected a file mode such as 0440, got "rwx"',
    'compose.yaml:12:9 unknown key "owner" in services.app.secrets[1]',
    'compose.yaml:16:5 Compose key "external" in configs.ext is not supported by berth',
    'compose.yaml:18:5 Compose key "name" in configs.named is not supported by berth',
    'compose.yaml:22:20 secrets.nowhere.file "./no-such-file" does not exist',
    'compose.yaml:23:36 secrets.both: file and environment both give its content',
    'compose.yaml:5:9 volume source "~/conf" is in the controller\'s home folder, which berth does not ship',
    'compose.yaml:6:9 volume source "../outside" is outside the Compose file\'s folder',
    'compose.yaml:9:9 service "app" uses the secret "missing", which the file does not declare',
  ]);
  for (const e of r.error) assert.ok(e.hint && e.hint.length > 10, `${e.message}: a hint`);
  // A bind of a path the controller does not have binds an empty folder, as Compose does: a warning.
  const ok = project('missing-bind', { 'stack/compose.yaml': 'services:\n  app:\n    image: busybox\n    volumes: ["./data:/data"]\n' });
  const loaded = loadForRun(join(ok, 'site.yml'));
  assert.ok(loaded.ok);
  if (loaded.ok) assert.equal(loaded.value.warnings.map((w) => `${w.where?.replace(/^.*stack\//, '')} ${w.message}`), ['compose.yaml:4:15 volume source "./data" does not exist beside the Compose file: each host binds an empty folder']);
});

test('a mode the file writes as 0440 is octal, as compose-go reads it; a bad mode is located', () => {
  const dir = project('modes', {
    'stack/compose.yaml': 'services:\n  app:\n    image: busybox\n    secrets:\n      - { source: a, mode: 0440 }\n      - { source: b, mode: "0640" }\n      - { source: c, mode: 288 }\n      - { source: d, mode: 0o600 }\n      - { source: e, mode: "x" }\nsecrets:\n  a: { file: ./db_password.txt }\n  b: { file: ./db_password.txt }\n  c: { file: ./db_password.txt }\n  d: { file: ./db_password.txt }\n  e: { file: ./db_password.txt }\n',
  });
  const r = loadForRun(join(dir, 'site.yml'));
  assert.not.ok(r.ok);
  if (!r.ok) assert.equal(r.error.map((e) => `${e.where?.replace(/^.*stack\//, '')} ${e.message}`), ['compose.yaml:9:28 services.app.secrets[4].mode: expected a file mode such as 0440, got "x"']);
  writeFileSync(join(dir, 'stack/compose.yaml'), 'services:\n  app:\n    image: busybox\n    secrets:\n      - { source: a, mode: 0440 }\n      - { source: b, mode: "0640" }\n      - { source: c, mode: 288 }\n      - { source: d, mode: 0o600 }\nsecrets:\n  a: { file: ./db_password.txt }\n  b: { file: ./db_password.txt }\n  c: { file: ./db_password.txt }\n  d: { file: ./db_password.txt }\n');
  const { spec } = plan(dir);
  assert.equal(spec.files?.map((f) => [f.path.split('/').pop(), f.mode.toString(8)]), [['a', '440'], ['b', '640'], ['c', '440'], ['d', '600']]);
});

test.after(() => rmSync(scratch, { recursive: true, force: true }));

test.run();
