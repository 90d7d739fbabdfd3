// `template`: rendered on the controller per host (strict: a missing variable names the
// template's file:line), written by the agent like copy. Plus the helpers templates can use.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { localTransport } from '../../controller/local-transport.js';
import { renderValue } from '../../controller/run/render.js';
import { renderTemplate } from '../../controller/templates/render-file.js';
import { modeOf, ran, testAgent, treeHash, type TestAgent } from './run-tasks.js';

const hostDir = mkdtempSync(join(tmpdir(), 'berth-host-'));
process.env.BERTH_HOST_DIR = hostDir;
const work = mkdtempSync(join(tmpdir(), 'berth-template-'));
const book = join(work, 'playbook');
const dest = join(work, 'etc');
mkdirSync(join(book, 'templates'), { recursive: true });
mkdirSync(dest);
const transport = localTransport();
let agent: TestAgent;

writeFileSync(
  join(book, 'templates/app.conf.hbs'),
  [
    '# {{inventory_hostname}} ({{facts.os.family}})',
    'listen = {{default bind "0.0.0.0"}}:{{port}}',
    'peers = {{join peers ","}}',
    '{{#if (eq mode "prod")}}',
    'log = warn',
    '{{else}}',
    'log = debug',
    '{{/if}}',
    'name = {{upper app}}',
    '',
  ].join('\n'),
);
writeFileSync(join(book, 'templates/broken.hbs'), 'first line\nsecond {{ok}}\nthird {{ missing_var }} here\n');
const vars = { port: 8080, peers: ['a', 'b'], mode: 'prod', app: 'web', ok: 'fine' };

test.before(async () => {
  agent = await testAgent(transport, 'local');
});
test.after(() => {
  agent?.close();
  transport.close();
  rmSync(hostDir, { recursive: true, force: true });
  rmSync(work, { recursive: true, force: true });
});

test('renders with vars, facts, host name and helpers; the second run changes nothing', async () => {
  const target = join(dest, 'app.conf');
  const tasks = [{ module: 'template', params: { src: 'templates/app.conf.hbs', dest: target, mode: '0600' } }];
  const first = ran(await agent.run(tasks, { vars, baseDir: book }));
  assert.is(first.result.changed, 1, JSON.stringify(first.tasks));
  assert.is(readFileSync(target, 'utf8'), '# local (debian)\nlisten = 0.0.0.0:8080\npeers = a,b\nlog = warn\nname = WEB\n');
  assert.is(modeOf(target), '0600');
  assert.is(ran(await agent.run(tasks, { vars, baseDir: book })).result.changed, 0);
});

test('different vars give a different file, with a unified diff; check mode touches nothing', async () => {
  const target = join(dest, 'app.conf');
  const tasks = [{ module: 'template', params: { src: 'templates/app.conf.hbs', dest: target, mode: '0600' } }];
  const before = treeHash(dest);
  const check = ran(await agent.run(tasks, { vars: { ...vars, mode: 'dev', bind: '10.0.0.1' }, baseDir: book, check: true, diff: true }));
  assert.is(check.result.changed, 1);
  assert.is(treeHash(dest), before);
  const diff = check.tasks[0].changes[0].diff ?? '';
  assert.match(diff, /-listen = 0\.0\.0\.0:8080\n\+listen = 10\.0\.0\.1:8080/);
  assert.match(diff, /-log = warn\n\+log = debug/);
  const real = ran(await agent.run(tasks, { vars: { ...vars, mode: 'dev' }, baseDir: book }));
  assert.is(real.result.changed, 1);
  assert.match(readFileSync(target, 'utf8'), /log = debug/);
});

test('a missing variable is an error naming the template file, line and column, with exit code 2', async () => {
  const out = await agent.run([{ module: 'template', params: { src: 'templates/broken.hbs', dest: join(dest, 'broken') } }], { vars, baseDir: book });
  assert.not.ok(out.ok);
  if (out.ok) return;
  assert.is(out.error.code, 'template.undefined');
  assert.is(out.error.exit, 2);
  // Relative to where berth runs when the template is below it, absolute otherwise.
  const file = join(book, 'templates/broken.hbs');
  const shown = relative(process.cwd(), file).startsWith('..') ? file : relative(process.cwd(), file);
  assert.is(out.error.where, `${shown}:3:10`);
  assert.match(out.error.message, /variable "missing_var" is not defined for host local/);
  assert.match(out.error.message, /playbook\.yml:1:3/, 'the task is named too');
});

test('a syntax error names the template line', () => {
  const r = renderTemplate('ok\n{{#if x}}\nunclosed\n', 'bad.hbs', { vars: { x: 1 }, host: 'h', groups: {}, hostGroups: [] }, 'play.yml:4:3');
  assert.not.ok(r.ok);
  if (r.ok) return;
  assert.is(r.error.code, 'template.syntax');
  assert.match(r.error.where ?? '', /^bad\.hbs:\d+$/);
  assert.is(r.error.exit, 2);
});

const render = (text: string, v: Record<string, unknown> = {}) => {
  const r = renderTemplate(text, 't.hbs', { vars: v, host: 'h1', groups: { all: ['h1'] }, hostGroups: ['web'] }, 'play.yml:1:1');
  if (!r.ok) throw new Error(`${r.error.where}: ${r.error.message}`);
  return r.value;
};

test('helpers: default, join, to_json, to_yaml, indent, upper/lower, comparisons and logic', () => {
  assert.is(render('{{default nope "x"}} {{default v "x"}}', { v: 'set' }), 'x set');
  assert.is(render('{{join list}} {{join list "-"}}', { list: [1, 2] }), '1, 2 1-2');
  assert.is(render('{{to_json m}}', { m: { a: [1, 'b'] } }), '{"a":[1,"b"]}');
  assert.is(render('env:\n  {{indent (to_yaml m) 2}}\n', { m: { a: 1, b: ['x', 'y'] } }), 'env:\n  a: 1\n  b:\n    - x\n    - y\n');
  assert.is(render('{{upper s}} {{lower s}} {{trim p}}', { s: 'MiX', p: '  x ' }), 'MIX mix x');
  assert.is(render('{{#if (and a (or b c))}}yes{{else}}no{{/if}}', { a: true, b: false, c: 1 }), 'yes');
  assert.is(render('{{#if (not (eq a b))}}differ{{/if}}{{#if (ne a 1)}}!{{/if}}', { a: 1, b: 2 }), 'differ');
  assert.is(render('{{#if (gt n 3)}}big{{/if}}', { n: 5 }), 'big');
  assert.is(render('{{#if (contains group_names "web")}}in web{{/if}}'), 'in web');
  assert.is(render('{{replace s "a" "o"}} {{basename p}} {{dirname p}} {{quote q}}', { s: 'banana', p: '/etc/app/x.conf', q: "it's" }), 'bonono x.conf /etc/app "it\'s"');
  assert.is(render('{{length list}} {{first list}} {{last list}}', { list: ['a', 'b', 'c'] }), '3 a c');
});

test('a helper given an undefined value fails with the line, instead of printing "undefined"', () => {
  const r = renderTemplate('a\nb {{upper nothing}}\n', 't.hbs', { vars: {}, host: 'h', groups: {}, hostGroups: [] }, 'play.yml:1:1');
  assert.not.ok(r.ok);
  if (r.ok) return;
  assert.is(r.error.where, 't.hbs:2:3');
  assert.match(r.error.message, /upper: its argument is undefined/);
});

test('inline task parameters get the same helpers', () => {
  const r = renderValue({ dest: '/srv/{{lower name}}/{{default sub "main"}}.conf' }, { vars: { name: 'APP' }, host: 'h', groups: {}, hostGroups: [] }, 'play.yml:1:1');
  assert.ok(r.ok);
  assert.equal(r.ok && r.value.value, { dest: '/srv/app/main.conf' });
});

test.run();
