// Host patterns as users write them in a play's `hosts:` and in `--limit`: each goes through the
// loader (YAML and schema, where `&`, `!` and `*` could be taken for YAML syntax), the inventory
// resolver (child groups expanded) and the run's own host selection (targets/preflight in
// controller/run/apply.ts), and selects exactly the expected hosts in inventory order.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { resolveInventory } from '../controller/inventory/resolve.js';
import { parseInventory, parsePlaybook } from '../controller/load/index.js';
import { preflight, targets } from '../controller/run/apply.js';
import type { PlaybookShape } from '../controller/run/playbook-shape.js';

const scratch = mkdtempSync(join(tmpdir(), 'berth-patterns-'));
// Keep the compiled-schema cache of this test run out of the operator's home.
process.env.BERTH_CACHE_DIR = join(scratch, 'cache');

const loadedInventory = parseInventory(
  `
hosts:
  web1: {}
  web2: {}
  web3: {}
  db1: {}
  db2: {}
  cache1: {}
  oldweb: {}
groups:
  web: { hosts: [web1, web2, web3] }
  db: { hosts: [db1, db2] }
  prod: { hosts: [web1, web3, db1] }
  staging: { hosts: [web2, db2] }
  backend: { hosts: [cache1], children: [db] }
`,
  'inventory.yml',
);
if (!loadedInventory.ok) throw new Error(`fixture inventory: ${JSON.stringify(loadedInventory.error)}`);
const inventory = resolveInventory(loadedInventory.value.data, 'inventory.yml');

/** One play per pattern, written as plain YAML scalars the way a playbook has them. */
function playbook(patterns: string[]) {
  const yaml = `plays:\n${patterns.map((p) => `  - hosts: ${p}\n    tasks:\n      - command: "true"\n`).join('')}`;
  const loaded = parsePlaybook(yaml, 'playbook.yml');
  if (!loaded.ok) assert.unreachable(`the playbook did not load:\n${yaml}\n${JSON.stringify(loaded.error, null, 2)}`);
  return loaded.ok ? loaded.value : undefined!;
}

/** The hosts a play with `hosts: <written>` runs on, with an optional `--limit`. */
function select(written: string, limit?: string): string[] {
  const pb = playbook([written]);
  const playbookShape = pb.data as unknown as PlaybookShape;
  assert.is(playbookShape.plays[0].hosts, written.replace(/^"(.*)"$/, '$1'), 'the pattern comes out of YAML as written');
  const problems = preflight({ playbook: playbookShape, inventory, limit, where: (p) => pb.where(p) });
  assert.equal(problems, [], `preflight accepts ${written}${limit ? ` --limit ${limit}` : ''}`);
  return targets({ playbook: playbookShape, inventory, limit })[0];
}

const cases: [pattern: string, hosts: string[]][] = [
  ['all', ['web1', 'web2', 'web3', 'db1', 'db2', 'cache1', 'oldweb']],
  ['"*"', ['web1', 'web2', 'web3', 'db1', 'db2', 'cache1', 'oldweb']],
  ['web', ['web1', 'web2', 'web3']],
  ['web:&prod', ['web1', 'web3']],
  ['web:!web2', ['web1', 'web3']],
  ['web:!staging', ['web1', 'web3']],
  ['web*', ['web1', 'web2', 'web3']],
  ['old*:cache?', ['cache1', 'oldweb']],
  // A glob matches host names and group names alike: `*b` is host oldweb and groups web and db
  // (not backend, which only contains a b).
  ['"*b"', ['web1', 'web2', 'web3', 'db1', 'db2', 'oldweb']],
  ['w?b2', ['web2']],
  ['db*:cache1', ['db1', 'db2', 'cache1']],
  ['web:db', ['web1', 'web2', 'web3', 'db1', 'db2']],
  ['db:web', ['web1', 'web2', 'web3', 'db1', 'db2']],
  ['web,db', ['web1', 'web2', 'web3', 'db1', 'db2']],
  ['web2:db1', ['web2', 'db1']],
  ['backend', ['db1', 'db2', 'cache1']],
  ['backend:&prod', ['db1']],
  ['web:db:&prod:!web3', ['web1', 'db1']],
  ['all:!prod', ['web2', 'db2', 'cache1', 'oldweb']],
  ['prod:&staging', []],
];

for (const [pattern, hosts] of cases) {
  test(`hosts: ${pattern} selects ${hosts.join(', ') || 'no host'}`, () => {
    assert.equal(select(pattern), hosts);
  });
}

test('--limit narrows a play by the same patterns', () => {
  assert.equal(select('all', 'web:&prod'), ['web1', 'web3']);
  assert.equal(select('web', 'prod'), ['web1', 'web3']);
  assert.equal(select('web:db', 'all:!web1:!db2'), ['web2', 'web3', 'db1']);
  assert.equal(select('backend', 'db*'), ['db1', 'db2']);
});

test('a misspelt name anywhere in a pattern is an error before anything connects, not an empty or a wider selection', () => {
  for (const [hosts, limit, unknown] of [
    ['web:!wbe2', undefined, 'wbe2'],
    ['web:&prdo', undefined, 'prdo'],
    ['web', 'prdo', 'prdo'],
  ] as const) {
    const pb = playbook([hosts]);
    const problems = preflight({ playbook: pb.data as unknown as PlaybookShape, inventory, limit, where: (p) => pb.where(p) });
    assert.is(problems.length, 1, `${hosts} --limit ${limit}: ${JSON.stringify(problems)}`);
    assert.is(problems[0].code, 'inventory.unknown-pattern');
    assert.ok(problems[0].message.includes(unknown), problems[0].message);
    assert.is(problems[0].exit, 2);
  }
});

test.after(() => rmSync(scratch, { recursive: true, force: true }));

test.run();
