// Limits on what berth reads: YAML nested deeper than berth walks, and files bigger than it
// parses, are one located message and exit 2, never an internal error or a controller out of
// stack or memory; a template that cannot parse is found by berth validate, at its line.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { MAX_NESTING } from '../controller/load/nesting.js';
import { MAX_INPUT_BYTES } from '../controller/load/read-input.js';

const root = new URL('..', import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'berth-limits-'));
const env = { ...process.env, BERTH_CACHE_DIR: join(dir, 'cache'), HOME: dir };

const tsx = import.meta.resolve('tsx');
function berth(...args: string[]) {
  const r = spawnSync(process.execPath, ['--import', tsx, join(root, 'cli/main.ts'), ...args], { cwd: dir, encoding: 'utf8', env, timeout: 120_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const deepFlow = (n: number) => '['.repeat(n) + ']'.repeat(n);
// Block nesting indents one more column per level: 1500 levels are already 1.1 MB of spaces.
const deepBlock = (n: number, indent: string) => Array.from({ length: n }, (_, i) => `${indent}${' '.repeat(i)}k${i}:`).join('\n') + `\n${indent}${' '.repeat(n)}v\n`;

test('YAML nested 3000 levels deep (1500 as blocks), in a playbook, an inventory, a vars file and a Compose file: a located message, exit 2', () => {
  writeFileSync(join(dir, 'flow.yml'), `plays:\n  - hosts: all\n    vars:\n      x: ${deepFlow(3000)}\n`);
  writeFileSync(join(dir, 'block.yml'), `plays:\n  - hosts: all\n    vars:\n${deepBlock(1500, '      ')}`);
  writeFileSync(join(dir, 'top.yml'), `${deepFlow(3000)}\n`);
  writeFileSync(join(dir, 'inventory.yml'), `hosts:\n  h1:\n    vars:\n${deepBlock(1500, '      ')}`);
  writeFileSync(join(dir, 'deep-vars.yml'), `x: ${deepFlow(3000)}\n`);
  writeFileSync(join(dir, 'uses-vars.yml'), 'vars_files: [deep-vars.yml]\nplays:\n  - hosts: all\n');
  writeFileSync(join(dir, 'compose.yml'), `services:\n  web:\n    image: x\n    labels:\n${deepBlock(1500, '      ')}`);
  writeFileSync(join(dir, 'uses-compose.yml'), 'plays:\n  - hosts: all\n    compose: compose.yml\n');
  const cases: Array<[string, RegExp]> = [
    ['flow.yml', /^flow\.yml:4:\d+: the document nests lists and mappings more than 100 levels deep\n/],
    ['block.yml', /^block\.yml:\d+:\d+: the document nests lists and mappings more than 100 levels deep\n/],
    ['top.yml', /^top\.yml:1:101: the document nests/],
    ['inventory.yml', /^inventory\.yml:\d+:\d+: the document nests/],
    ['uses-vars.yml', /^\S*deep-vars\.yml:1:\d+: the document nests/],
    ['uses-compose.yml', /^compose\.yml:\d+:\d+: the document nests/],
  ];
  for (const [file, want] of cases) {
    const r = berth('validate', file);
    assert.is(r.code, 2, `${file}: ${r.stderr}`);
    assert.match(r.stderr, want, file);
    assert.match(r.stderr, /hint: berth reads YAML nested at most 100 levels/, file);
    assert.not.match(r.stderr, /internal error|call stack|out of memory/i, file);
  }
  const plan = berth('plan', 'flow.yml', '-i', 'inventory.yml');
  assert.is(plan.code, 2, plan.stderr);
  assert.match(plan.stderr, /flow\.yml:4:\d+: the document nests/);
});

test('nesting up to the limit is read; aliases that nest past it are refused too', () => {
  writeFileSync(join(dir, 'at-limit.yml'), `plays:\n  - hosts: all\n    vars:\n      x: ${deepFlow(MAX_NESTING - 4)}\n`);
  const ok = berth('validate', 'at-limit.yml');
  assert.is(ok.code, 0, ok.stderr);
  // 60 + 30 + 30 levels, each under the limit as written.
  const yaml = `x-a: &a ${'['.repeat(60)}1${']'.repeat(60)}\nx-b: &b ${'['.repeat(30)}*a${']'.repeat(30)}\nplays:\n  - hosts: all\n    vars:\n      deep: ${'['.repeat(30)}*b${']'.repeat(30)}\n`;
  writeFileSync(join(dir, 'aliases.yml'), yaml);
  const r = berth('validate', 'aliases.yml');
  assert.is(r.code, 2, r.stderr);
  assert.match(r.stderr, /^aliases\.yml:\d+:\d+: the document nests lists and mappings more than 100 levels deep\n/);
});

test(`files over ${MAX_INPUT_BYTES / 1024 / 1024} MiB are refused with a message naming the limit: playbook, inventory, vars file, Compose file`, () => {
  const padding = `# ${'x'.repeat(1022)}\n`.repeat(Math.ceil(MAX_INPUT_BYTES / 1024) + 1);
  writeFileSync(join(dir, 'big.yml'), `${padding}plays:\n  - hosts: all\n`);
  writeFileSync(join(dir, 'big-inventory.yml'), `${padding}hosts:\n  h1:\n`);
  writeFileSync(join(dir, 'small.yml'), 'inventory: big-inventory.yml\nplays:\n  - hosts: all\n');
  writeFileSync(join(dir, 'big-vars.yml'), `${padding}a: 1\n`);
  writeFileSync(join(dir, 'with-big-vars.yml'), 'vars_files: [big-vars.yml]\nplays:\n  - hosts: all\n');
  writeFileSync(join(dir, 'big-compose.yml'), `${padding}services:\n  web: { image: x }\n`);
  writeFileSync(join(dir, 'with-big-compose.yml'), 'plays:\n  - hosts: all\n    compose: big-compose.yml\n');
  const limit = /berth reads playbooks, inventories, vars files and Compose files of at most 4 MiB/;
  for (const [file, shown] of [['big.yml', 'big.yml'], ['small.yml', 'big-inventory.yml'], ['with-big-vars.yml', 'big-vars.yml'], ['with-big-compose.yml', 'with-big-compose.yml:3:14: compose: big-compose.yml']]) {
    const r = berth('validate', file);
    assert.is(r.code, 2, `${file}: ${r.stderr}`);
    assert.ok(r.stderr.split('\n')[0].replace(dir + '/', '').startsWith(`${shown}: `), `${file}: ${r.stderr}`);
    assert.match(r.stderr, /the file is 4\.0 MiB: /, file);
    assert.match(r.stderr, limit, file);
  }
  const apply = berth('apply', 'big.yml', '-i', 'inventory.yml');
  assert.is(apply.code, 2);
  assert.match(apply.stderr, limit);
});

test('a template with an unclosed {{ is reported by berth validate at the template\'s file:line:col; a task\'s own string at its line', () => {
  mkdirSync(join(dir, 'templates'), { recursive: true });
  writeFileSync(join(dir, 'templates', 'app.conf.hbs'), '# app\nport={{ port }}\nname={{ app_name\nmode=prod\n');
  writeFileSync(join(dir, 'templates', 'block.hbs'), 'a\n{{#each hosts}}\nserver {{this}}\n');
  writeFileSync(join(dir, 'templates', 'good.hbs'), 'port={{ port }}\n');
  writeFileSync(
    join(dir, 'templated.yml'),
    [
      'plays:', //                                                                   1
      '  - hosts: all', //                                                           2
      '    tasks:', //                                                               3
      '      - template: { src: templates/app.conf.hbs, dest: /etc/app.conf }', //   4
      '      - template: { src: templates/block.hbs, dest: /etc/block.conf }', //    5
      '      - template: { src: templates/good.hbs, dest: /etc/good.conf }', //      6
      '      - command: [echo, "{{ greeting"]', //                                   7
      '    services:', //                                                            8
      '      web: { image: "nginx:{{ tag" }', //                                     9
    ].join('\n') + '\n',
  );
  const r = berth('validate', 'templated.yml');
  assert.is(r.code, 2, r.stdout + r.stderr);
  const lines = r.stderr.split('\n').filter((l) => !l.startsWith(' '));
  assert.equal(lines.filter(Boolean), [
    'templated.yml:7:25: template syntax error: "{{" is never closed: no "}}" before the end or the next "{{"',
    'templated.yml:9:21: template syntax error: "{{" is never closed: no "}}" before the end or the next "{{"',
    'templates/app.conf.hbs:3:6: template syntax error: "{{" is never closed: no "}}" before the end or the next "{{"',
    'templates/block.hbs:2:1: template syntax error: {{#each}} is never closed: add {{/each}}',
  ]);
  assert.match(r.stderr, /hint: in the template of the task at templated\.yml:4:9/);
});

test.after(() => rmSync(dir, { recursive: true, force: true }));
test.run();
