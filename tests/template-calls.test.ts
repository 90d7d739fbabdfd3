// Template helper calls that can never work are bad input found by berth validate at their own
// file:line:col (handlebars would fail at plan time with a JavaScript TypeError and no place);
// handlebars' log helper is gone (it printed onto the operator's terminal, around the masking of
// secrets); and a template file that fails at render time without a place from handlebars is
// still reported at the line that failed.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { renderTemplate } from '../controller/templates/render-file.js';
import { renderValue } from '../controller/run/render.js';

const root = new URL('..', import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'berth-template-calls-'));
const tsx = import.meta.resolve('tsx');
const berth = (...args: string[]) => spawnSync(process.execPath, ['--import', tsx, join(root, 'cli/main.ts'), ...args], { cwd: dir, encoding: 'utf8', env: { ...process.env, HOME: dir }, timeout: 120_000 });

test.after(() => rmSync(dir, { recursive: true, force: true }));

test('berth validate: a variable given arguments, block helpers inline or with the wrong count, partials, log: each at its file:line:col', () => {
  mkdirSync(join(dir, 'templates'), { recursive: true });
  const files: Record<string, string> = {
    'args.hbs': '# app\nname = {{ facts. : os.name }}\n',
    'if-two.hbs': 'a\nb\n  {{#if a b}}x{{/if}}\n',
    'if-inline.hbs': '{{ if role }}\n',
    'else-if.hbs': '{{#if a}}x{{else if}}y{{/if}}\n',
    'partial.hbs': 'x\n{{> header }}\n',
    'log.hbs': 'pw={{ log db_password }}\n',
    'good.hbs': '{{#if (eq role "web")}}{{ upper role }}{{/if}} {{ lookup facts "os" }} {{#each list}}{{this}}{{/each}}\n',
  };
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, 'templates', name), text);
  const tasks = Object.keys(files).map((name) => `      - template: { src: templates/${name}, dest: /etc/${name} }`);
  writeFileSync(
    join(dir, 'site.yml'),
    [
      'inventory: { hosts: { h1: {} } }',
      'plays:',
      '  - hosts: all',
      '    tasks:',
      ...tasks, // lines 5-11
      '      - command: [echo, "{{ role x }}"]', // 12
      '      - command: [echo, "{{#if (role)}}y{{/if}}"]', // 13
    ].join('\n') + '\n',
  );
  const r = berth('validate', 'site.yml');
  assert.is(r.status, 2, r.stdout + r.stderr);
  const lines = r.stderr.split('\n').filter((l) => l && !l.startsWith(' '));
  assert.equal(lines, [
    'site.yml:12:25: template syntax error: role is not a helper: {{role ...}} calls a helper by that name, and a variable takes no arguments',
    'site.yml:13:25: template syntax error: role is not a helper: (role ...) calls a helper by that name, and a variable takes no arguments',
    'templates/args.hbs:2:8: template syntax error: facts is not a helper: {{facts ...}} calls a helper by that name, and a variable takes no arguments',
    'templates/if-two.hbs:3:3: template syntax error: {{#if}} takes exactly 1 argument, got 2',
    'templates/if-inline.hbs:1:1: template syntax error: if is a block: write {{#if x}}...{{/if}}',
    'templates/else-if.hbs:1:11: template syntax error: {{#if}} takes exactly 1 argument, got 0',
    'templates/partial.hbs:2:1: template syntax error: partials ({{> name}}) and decorators ({{* name}}) are not available in berth templates',
    'templates/log.hbs:1:4: template syntax error: log is not a helper: {{log ...}} calls a helper by that name, and a variable takes no arguments',
  ]);
  assert.match(r.stderr, /hint: a variable is written \{\{role\}\}; the helpers are [^\n]*\bdefault, /);
  assert.not.match(r.stderr, /internal error|is not a function/);
});

test('{{log x}} prints nothing on the controller: the helper is gone', () => {
  let printed = '';
  const write = process.stdout.write;
  process.stdout.write = ((s: string) => ((printed += s), true)) as typeof process.stdout.write;
  let r;
  try {
    r = renderValue('{{log db_password}}', { vars: { db_password: 'hunter2' }, host: 'h1', groups: {}, hostGroups: [] }, 'site.yml:5:9');
  } finally {
    process.stdout.write = write;
  }
  assert.is(printed, '');
  assert.ok(!r.ok);
});

test('a template file that fails in handlebars\' runtime (a path into a string) is reported at the line that failed', () => {
  const text = '# app\nlisten = {{ port }}\n{{#if port}}\nrole = {{ role.name }}\n{{/if}}\n';
  const r = renderTemplate(text, 'templates/app.conf.hbs', { vars: { port: 80, role: 'web' }, host: 'h1', groups: {}, hostGroups: [] }, 'site.yml:5:9');
  if (r.ok) return assert.unreachable('rendered');
  assert.is(r.error.where, 'templates/app.conf.hbs:3:1');
  assert.is(r.error.exit, 2);
  assert.match(r.error.message, /^template error for host h1: /);
});

test.run();
