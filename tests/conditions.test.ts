// Conditions as lists: `when`, `changed_when` and `failed_when` take a list of expressions that
// must all hold (as in Ansible), on the controller and on the agent, where registered results
// live; `berth validate` parses every expression, list items too, and points at the bad one.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parse } from 'yaml';
import { ok } from '../controller/errors.js';
import { resolveInventory } from '../controller/inventory/resolve.js';
import { localTransport } from '../controller/local-transport.js';
import { applyPlaybook } from '../controller/run/apply.js';
import type { RunEvent } from '../controller/run/events.js';
import type { PlaybookShape } from '../controller/run/playbook-shape.js';

const root = new URL('..', import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'berth-conditions-'));
process.env.BERTH_HOST_DIR = join(dir, 'berth');
process.env.BERTH_CACHE_DIR = join(dir, 'cache');

const inventory = resolveInventory(parse('hosts:\n  local:\ngroups:\n  web: { hosts: [local] }\n'), '<inline>');

async function run(yaml: string): Promise<{ code: number; events: RunEvent[] }> {
  const events: RunEvent[] = [];
  const code = await applyPlaybook({
    playbookPath: join(dir, 'playbook.yml'),
    playbook: parse(yaml) as PlaybookShape,
    where: (p) => `playbook.yml:${p.join('.')}`,
    inventory,
    extraVars: {},
    check: false,
    diff: false,
    forks: 1,
    sink: (e) => events.push(e),
    signal: new AbortController().signal,
    connect: async () => ok(localTransport()),
  });
  return { code, events };
}

const statuses = (events: RunEvent[]) => events.flatMap((e) => (e.type === 'task-end' ? [`${e.name}=${e.status}`] : []));
const messages = (events: RunEvent[]) => events.flatMap((e) => (e.type === 'task-end' && e.message ? [`${e.name}: ${e.message}`] : []));

test('when: a list runs the task only when every expression holds, vars and registered results alike', async () => {
  const { code, events } = await run(`
plays:
  - hosts: all
    vars: { flavour: lab }
    tasks:
      - name: probe
        command: [sh, -c, "echo ready"]
        register: probe
      - name: all hold
        command: [echo, yes]
        when: [flavour == "lab", '"web" in group_names', probe.stdout == "ready"]
      - name: one of them does not
        command: [echo, no]
        when: [flavour == "lab", probe.stdout == "not ready"]
      - name: the first does not
        command: [echo, no]
        when: [flavour == "prod", probe.rc == 0]
      - name: an empty list holds
        command: [echo, yes]
        when: []
`);
  assert.is(code, 0, messages(events).join('\n'));
  assert.equal(statuses(events), ['probe=changed', 'all hold=changed', 'one of them does not=skipped', 'the first does not=skipped', 'an empty list holds=changed']);
});

test('changed_when and failed_when: lists hold when every expression holds', async () => {
  const { code, events } = await run(`
plays:
  - hosts: all
    tasks:
      - name: changed only when both hold
        command: [sh, -c, "echo ok; exit 3"]
        failed_when: [result.rc != 3, result.rc != 4]
        changed_when: [result.rc == 3, '"ok" in result.stdout']
      - name: not changed when one does not
        command: [echo, fine]
        changed_when: [result.rc == 0, result.stdout == "other"]
      - name: not failed when one does not
        command: [sh, -c, "exit 1"]
        changed_when: false
        failed_when: [result.rc == 1, result.stdout == "boom"]
      - name: failed when both hold
        command: [sh, -c, "echo boom"]
        failed_when: [result.rc == 0, result.stdout == "boom"]
`);
  assert.is(code, 1);
  assert.equal(statuses(events), ['changed only when both hold=changed', 'not changed when one does not=ok', 'not failed when one does not=ok', 'failed when both hold=failed']);
  assert.equal(messages(events), ['failed when both hold: failed_when matched ((result.rc == 0) and (result.stdout == "boom"))']);
});

// The real CLI, as a person runs it.
const tsx = import.meta.resolve('tsx');
function berth(...args: string[]) {
  const r = spawnSync(process.execPath, ['--import', tsx, join(root, 'cli/main.ts'), ...args], { cwd: dir, encoding: 'utf8', env: { ...process.env } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('berth validate parses every condition, list items too, and exits 2 at the bad one', () => {
  writeFileSync(
    join(dir, 'conds.yml'),
    [
      'plays:', //                                        1
      '  - hosts: all', //                                2
      '    tasks:', //                                    3
      '      - command: "true"', //                       4
      '        when: result.rc ==', //                    5
      '      - command: "true"', //                       6
      '        when:', //                                 7
      '          - facts.os.family == "debian"', //       8
      '          - result.rc == == 0', //                 9
      "        changed_when: [result.rc == 0, 'result.rc <']", // 10
      '        failed_when: [result.rc != 0]', //        11
      '    handlers:', //                                12
      '      - name: h', //                              13
      '        command: "true"', //                      14
      '        failed_when: (result.rc', //              15
    ].join('\n') + '\n',
  );
  const r = berth('validate', 'conds.yml');
  assert.is(r.code, 2, r.stdout + r.stderr);
  const lines = r.stderr.split('\n').filter((l) => /^conds\.yml:\d+:\d+:/.test(l));
  assert.equal(
    lines.map((l) => l.split(': ')[0] + ' ' + l.split(': ')[1]),
    ['conds.yml:5:15 when', 'conds.yml:9:13 when', 'conds.yml:10:40 changed_when', 'conds.yml:15:22 failed_when'],
    r.stderr,
  );
  assert.match(r.stderr, /a list means all of them must hold/);
  assert.not.match(r.stderr, /internal error|\n\s{4}at /);

  writeFileSync(join(dir, 'good.yml'), 'plays:\n  - hosts: all\n    tasks:\n      - command: "true"\n        when: [a == 1, b|defined]\n        changed_when: false\n');
  const good = berth('validate', 'good.yml');
  assert.is(good.code, 0, good.stderr);
});

test.after(() => rmSync(dir, { recursive: true, force: true }));
test.run();
