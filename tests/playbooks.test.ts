// The example playbooks are the first thing a person reads and runs: each must stay valid as
// the language grows.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { formatProblem, loadPlaybook } from '../controller/load/index.js';

const root = new URL('..', import.meta.url).pathname;
const scratch = mkdtempSync(join(tmpdir(), 'berth-playbooks-'));
process.env.BERTH_CACHE_DIR = join(scratch, 'cache');

const examples = readdirSync(join(root, 'playbooks'))
  .filter((f) => f.endsWith('.yml'))
  .sort()
  .map((f) => join('playbooks', f));

test('the examples are there: demo, rolling upgrade, sidecars', () => {
  for (const name of ['playbooks/demo.yml', 'playbooks/rolling-upgrade.yml', 'playbooks/sidecars.yml']) assert.ok(examples.includes(name), name);
});

// host-prep.yml is the host-configuration example: tasks only, on purpose.
const hostOnly = new Set(['playbooks/host-prep.yml']);

for (const file of examples) {
  test(`${file} is a valid playbook${hostOnly.has(file) ? ' of host tasks' : ' with services'}`, () => {
    const r = loadPlaybook(join(root, file));
    assert.ok(r.ok, r.ok ? '' : r.error.map(formatProblem).join('\n'));
    const services = r.value.data.plays.flatMap((p) => Object.keys(p.services ?? {}));
    const tasks = r.value.data.plays.flatMap((p) => p.tasks ?? []);
    if (hostOnly.has(file)) assert.ok(tasks.length >= 20, 'twenty host tasks');
    else assert.ok(services.length > 0, 'shows at least one service');
  });
}

test('demo.yml runs against a three-host lab named demo', () => {
  const r = loadPlaybook(join(root, 'playbooks/demo.yml'));
  assert.ok(r.ok);
  assert.equal(r.value.data.inventory, { provider: 'lab', name: 'demo', hosts: 3, init: 'systemd' });
});

test('`berth validate playbooks/*.yml` exits 0 with one ok line per playbook', () => {
  const r = spawnSync(process.execPath, ['--import', import.meta.resolve('tsx'), 'cli/main.ts', 'validate', ...examples], { cwd: root, encoding: 'utf8' });
  assert.is(r.stderr, '');
  assert.is(r.status, 0);
  const lines = r.stdout.trim().split('\n');
  assert.equal(lines.map((l) => l.split(':')[0]), examples);
  for (const line of lines) assert.match(line, /: ok \(\d+ plays?, \d+ tasks?, \d+ services?\)$/);
});

test.after(() => rmSync(scratch, { recursive: true, force: true }));

test.run();
