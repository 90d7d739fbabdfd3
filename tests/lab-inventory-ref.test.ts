// A playbook's `inventory: { provider: lab, init: ... }`: the hint for a lab that is not up
// names the init, and a lab whose hosts run the other init is refused before anything connects
// (its lab.json says what they run; labs made before the choice run tini).
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { inventorySource } from '../controller/inventory/source.js';
import { ExitCode } from '../controller/errors.js';

let state: string;
const savedState = process.env.BERTH_STATE_DIR;
const loadFile = () => ({ ok: true as const, value: { hosts: { h1: { address: '127.0.0.1' } } } });
const source = (init?: 'tini' | 'systemd') =>
  inventorySource({ provider: 'lab', name: 'demo', hosts: 3, ...(init ? { init } : {}) }, { playbookPath: '/x/demo.yml', where: 'demo.yml:9:12', loadFile });

/** A lab as `berth lab up` leaves it: inventory.yml and lab.json (with `init` unless it is an old one). */
function labUpWith(init: string | undefined): void {
  const dir = join(state, 'labs', 'demo');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'inventory.yml'), 'hosts: {}\n');
  writeFileSync(join(dir, 'lab.json'), JSON.stringify({ version: 1, name: 'demo', ...(init ? { init } : {}) }));
}

test.before(() => {
  state = mkdtempSync(join(tmpdir(), 'berth-test-lab-ref-'));
  process.env.BERTH_STATE_DIR = state;
});
test.after(() => {
  if (savedState === undefined) delete process.env.BERTH_STATE_DIR;
  else process.env.BERTH_STATE_DIR = savedState;
  rmSync(state, { recursive: true, force: true });
});

test('a lab that is not up: the hint is the lab up command with the init the playbook asks for', () => {
  const r = source('systemd');
  assert.is(r.ok, false);
  if (r.ok) return;
  assert.is(r.error[0]!.hint, 'the lab "demo" is not up: run `berth lab up --name demo --hosts 3 --init systemd`');
});

test('a lab of tini hosts is refused for a playbook that asks for systemd, as bad input with the command that fixes it', () => {
  labUpWith('tini');
  const r = source('systemd');
  assert.is(r.ok, false);
  if (r.ok) return;
  const e = r.error[0]!;
  assert.equal([e.code, e.message, e.where, e.exit], ['inventory.lab-init', 'the lab "demo" runs tini hosts; the playbook\'s inventory asks for systemd', 'demo.yml:9:12', ExitCode.badInput]);
  assert.match(e.hint ?? '', /`berth lab up --name demo --hosts 3 --init systemd` \(it replaces the hosts\)/);
  assert.ok(source('tini').ok, 'the init it runs is fine');
  assert.ok(source().ok, 'no init asked for: any lab will do');
});

test('a lab made before the choice (no init in lab.json) runs tini hosts', () => {
  labUpWith(undefined);
  assert.is(source('systemd').ok, false);
  assert.ok(source('tini').ok);
});

test('a lab of systemd hosts is what a playbook asking for systemd gets', () => {
  labUpWith('systemd');
  const r = source('systemd');
  assert.ok(r.ok, JSON.stringify(!r.ok && r.error));
  assert.is(r.ok && r.value.source, join(state, 'labs', 'demo', 'inventory.yml'));
});

test.run();
