// Playbook semantics, run for real: the controller renders plans and a real agent runs them
// (through the local transport, confined to a temp dir). Var precedence, when, loops, register,
// changed_when / failed_when, handlers, tags, check mode and secret masking.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parse } from 'yaml';
import { ok } from '../controller/errors.js';
import { resolveInventory } from '../controller/inventory/resolve.js';
import { localTransport } from '../controller/local-transport.js';
import { applyPlaybook, preflight } from '../controller/run/apply.js';
import type { RunEvent } from '../controller/run/events.js';
import type { PlaybookShape } from '../controller/run/playbook-shape.js';

const dir = mkdtempSync(join(tmpdir(), 'berth-semantics-'));
process.env.BERTH_HOST_DIR = join(dir, 'berth');

const inventory = resolveInventory(
  parse(`
hosts:
  local: { vars: { who: host, level: host } }
groups:
  parent: { children: [child], vars: { who: parent, level: parent, from_parent: yes } }
  child: { hosts: [local], vars: { who: child } }
vars: { who: all, level: all, only_all: yes }
`),
  '<inline>',
);

async function run(yaml: string, extra: Partial<Parameters<typeof applyPlaybook>[0]> = {}): Promise<{ code: number; events: RunEvent[] }> {
  const events: RunEvent[] = [];
  const playbook = parse(yaml) as PlaybookShape;
  const code = await applyPlaybook({
    playbookPath: join(dir, 'playbook.yml'),
    playbook,
    where: (p) => `playbook.yml:${p.join('.')}`,
    inventory,
    extraVars: {},
    check: false,
    diff: false,
    forks: 5,
    sink: (e) => events.push(e),
    signal: new AbortController().signal,
    connect: async () => ok(localTransport()),
    ...extra,
  });
  return { code, events };
}

const outputs = (events: RunEvent[]) => events.flatMap((e) => (e.type === 'output' ? [e.line] : []));
const statuses = (events: RunEvent[]) => events.flatMap((e) => (e.type === 'task-end' ? [`${e.name}=${e.status}`] : []));

test('vars: inventory all < parent group < child group < host < playbook < play < task < -e', async () => {
  const { code, events } = await run(
    `
vars: { playbook_level: playbook, p: playbook }
plays:
  - hosts: all
    vars: { p: play, q: play }
    tasks:
      - command: [echo, "{{who}} {{level}} {{from_parent}} {{only_all}} {{p}} {{q}} {{t}}"]
        vars: { q: task, t: task }
      - command: [echo, "{{x}}"]
        vars: { x: task }
`,
    { extraVars: { x: 'extra' } },
  );
  assert.is(code, 0);
  assert.equal(outputs(events), ['host host yes yes play task task', 'extra']);
});

test('when, register, deferred templates and changed_when / failed_when', async () => {
  const { code, events } = await run(`
plays:
  - hosts: all
    tasks:
      - name: probe
        command: [sh, -c, "echo ready; exit 3"]
        register: probe
        failed_when: result.rc != 3
        changed_when: false
      - name: uses the result
        command: [echo, "rc was {{probe.rc}}, said {{probe.stdout}}"]
        when: probe.rc == 3 and "child" in group_names
      - name: skipped
        command: [echo, never]
        when: probe.rc == 0
      - name: syntax of facts
        command: [echo, "{{facts.os.family}}"]
        when: facts.user.uid|defined
`);
  assert.is(code, 0);
  assert.equal(statuses(events), ['probe=ok', 'uses the result=changed', 'skipped=skipped', 'syntax of facts=changed']);
  assert.equal(outputs(events).slice(1), ['rc was 3, said ready', 'debian']);
});

test('loops expand per item and register their results; handlers run once, in definition order', async () => {
  const marker = join(dir, 'handlers.log');
  const { code, events } = await run(`
plays:
  - hosts: all
    vars: { names: [a, b, c] }
    tasks:
      - command: [echo, "{{item}}"]
        loop: "{{names}}"
        register: echoed
        notify: second
      - command: [echo, "{{fruit}}"]
        loop: [apple, pear]
        loop_var: fruit
        notify: [first, second]
      - command: [echo, "{{echoed.results.length}}"]
        when: echoed.results[2].stdout == "c"
    handlers:
      - name: first
        command: [sh, -c, "echo first >> ${marker}"]
      - name: second
        command: [sh, -c, "echo second >> ${marker}"]
`);
  assert.is(code, 0);
  assert.equal(outputs(events), ['a', 'b', 'c', 'apple', 'pear', '3']);
  assert.equal(readFileSync(marker, 'utf8'), 'first\nsecond\n');
});

test('a failed task stops the host and its handlers; ignore_errors goes on', async () => {
  const marker = join(dir, 'not-run');
  const { code, events } = await run(`
plays:
  - hosts: all
    tasks:
      - command: "false"
        ignore_errors: true
      - command: "true"
        notify: h
      - command: "false"
      - command: [touch, ${marker}]
    handlers:
      - name: h
        command: [touch, ${marker}]
`);
  assert.is(code, 1);
  assert.not.ok(existsSync(marker));
  assert.equal(statuses(events).map((s) => s.split('=')[1]), ['failed', 'changed', 'failed']);
});

test('tags: --tags, --skip-tags, always and never', async () => {
  const yaml = `
plays:
  - hosts: all
    tasks:
      - { command: [echo, a], tags: [config] }
      - { command: [echo, b], tags: [deploy] }
      - { command: [echo, c], tags: always }
      - { command: [echo, d], tags: never }
      - { command: [echo, e] }
`;
  assert.equal(outputs((await run(yaml)).events), ['a', 'b', 'c', 'e']);
  assert.equal(outputs((await run(yaml, { tags: { only: ['config'], skip: [] } })).events), ['a', 'c']);
  assert.equal(outputs((await run(yaml, { tags: { only: ['never'], skip: [] } })).events), ['c', 'd']);
  assert.equal(outputs((await run(yaml, { tags: { only: [], skip: ['deploy', 'always'] } })).events), ['a', 'e']);
});

test('check mode reports the change and runs nothing', async () => {
  const marker = join(dir, 'checked');
  const { code, events } = await run(`plays:\n  - hosts: all\n    tasks:\n      - command: [touch, ${marker}]\n`, { check: true });
  assert.is(code, 0);
  assert.equal(statuses(events), [`command: touch ${marker}=changed`]);
  assert.not.ok(existsSync(marker));
});

test('secret values are masked in output, task names, messages and every event', async () => {
  const { events } = await run(
    `
plays:
  - hosts: all
    tasks:
      - name: "use {{db_password}}"
        command: [sh, -c, "echo the password is {{db_password}}; echo {{db_password}} >&2; exit 1"]
`,
    { secretVars: { db_password: 's3cr3t/value+x' } },
  );
  const text = JSON.stringify(events);
  assert.not.ok(text.includes('s3cr3t'), text);
  assert.ok(text.includes('the password is ********'));
});

test('preflight: a broken condition is bad input at its line, before anything runs', () => {
  const pb = parse(`plays:\n  - hosts: all\n    tasks:\n      - command: "true"\n        when: result.rc ==\n`) as PlaybookShape;
  const errors = preflight({ playbook: pb, inventory, where: (p) => p.join('.') });
  assert.is(errors.length, 1);
  assert.is(errors[0].where, 'plays.0.tasks.0.when');
  assert.match(errors[0].message, /^when: /);
  assert.is(errors[0].exit, 2);
});

test.after(() => rmSync(dir, { recursive: true, force: true }));
test.run();
