// `berth validate` and the loader behind it: every malformed playbook or inventory gets one clear
// message at the right file:line:column, all of a file's mistakes come out in one run, and the
// CLI exits 2 without a stack trace.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { loadPlaybook, parseDocument, parseInventory, parsePlaybook, type LoadError } from '../controller/load/index.js';
import { rootValidator } from '../controller/load/validators.js';
import { Inventory, Playbook, sharedSchemas } from '../schema/index.js';
import { cases } from './fixtures/invalid/cases.js';

const root = new URL('..', import.meta.url).pathname;
const scratch = mkdtempSync(join(tmpdir(), 'berth-validate-'));
// Keep the compiled-schema cache of this test run out of the operator's home.
process.env.BERTH_CACHE_DIR = join(scratch, 'cache');

const parse = (kind: 'playbook' | 'inventory', yaml: string) => (kind === 'playbook' ? parsePlaybook(yaml, 'case.yml') : parseInventory(yaml, 'case.yml'));

function errorsOf(kind: 'playbook' | 'inventory', yaml: string): LoadError[] {
  const r = parse(kind, yaml);
  if (r.ok) assert.unreachable(`expected errors, but the ${kind} is valid:\n${yaml}`);
  return r.ok ? [] : r.error;
}

const show = (errors: LoadError[]) => errors.map((e) => `  ${e.line}:${e.col} [${e.code}] ${e.message} | ${e.hint ?? ''}`).join('\n');

test(`${cases.length} malformed documents are each reported at the right place, with words a person understands`, () => {
  assert.ok(cases.length >= 40);
  for (const c of cases) {
    const errors = errorsOf(c.kind, c.yaml);
    const e = errors.find((x) => x.code === c.code);
    assert.ok(e, `${c.name}: no ${c.code} error among:\n${show(errors)}`);
    assert.is(`${e.line}:${e.col}`, `${c.line}:${c.col}`, `${c.name}: position of "${e.message}"`);
    assert.is(e.where, `case.yml:${c.line}:${c.col}`, `${c.name}: where`);
    assert.is(e.exit, 2, `${c.name}: exit code`);
    for (const w of c.words) assert.ok(e.message.includes(w), `${c.name}: message "${e.message}" lacks "${w}"`);
    for (const w of c.hint ?? []) assert.ok((e.hint ?? '').includes(w), `${c.name}: hint "${e.hint}" lacks "${w}"`);
    assert.not.match(e.message, /must match|must NOT have|must be|anyOf/, `${c.name}: raw ajv wording leaked: ${e.message}`);
  }
});

test('every mistake of a file comes out in one run, in file order, each once', () => {
  const yaml = [
    'name: demo', //                                  1
    'plays:', //                                      2
    '  - hosts: all', //                              3
    '    become: yes', //                             4  type
    '    tasks:', //                                  5
    '      - comand: ls', //                          6  unknown key (did you mean)
    '      - command: ls', //                         7
    '        ping:', //                               8  two modules
    '        notify: nobody', //                      9  unknown handler
    '    rollout: { serial: 1, order: sideways }', // 10  enum
    '    services:', //                              11
    '      web:', //                                 12
    '        image: x', //                           13
    '        ports: ["80:80", true, "99999:80"]', // 14  union, range
    '        stop_grace_period: soon', //            15  duration
    '        depends_on: [db]', //                   16  unknown service
  ].join('\n');
  const errors = errorsOf('playbook', yaml);
  assert.equal(
    errors.map((e) => `${e.line}:${e.code}`),
    ['4:schema.type', '6:schema.unknown-key', '8:playbook.module-count', '9:playbook.unknown-handler', '10:schema.enum', '14:schema.type', '14:schema.range', '15:schema.format', '16:service.unknown-dependency'],
    show(errors),
  );
  const where = errors.map((e) => e.where);
  assert.is(new Set(where.map((w, i) => `${w} ${errors[i].message}`)).size, errors.length, 'no duplicates');
});

test('a union reports the branch the value was meant for, not every branch', () => {
  // A long-form port with one bad key: one message about that key, none about strings or numbers.
  const errors = errorsOf('playbook', 'plays:\n  - hosts: all\n    services:\n      web:\n        image: x\n        ports: [{ target: 80, published: 8080, protocl: tcp }]\n');
  assert.is(errors.length, 1, show(errors));
  assert.match(errors[0].message, /unknown key "protocl"/);
  assert.match(errors[0].hint ?? '', /"protocol"/);
  // The inline-inventory form is chosen when there is no `provider:`; the lab form when there is.
  const inline = errorsOf('playbook', 'inventory: { hosts: { h1: { adress: x } } }\nplays:\n  - hosts: all\n');
  assert.equal(inline.map((e) => e.path), ['inventory.hosts.h1.adress']);
  const lab = errorsOf('playbook', 'inventory: { provider: lab, hosts: 3, file: x.yml }\nplays:\n  - hosts: all\n');
  assert.equal(lab.map((e) => `${e.path} ${e.code}`), ['inventory.file schema.unknown-key']);
});

test('valid documents: x- extension keys and merge keys are accepted, and x- keys are gone from the data', () => {
  const r = parsePlaybook(
    [
      'x-common: &common { image: lab/busybox, restart: always }',
      'plays:',
      '  - hosts: all',
      '    x-owner: team-a',
      '    tasks:',
      '      - command: [echo, "{{ greeting }}"]',
      '        x-note: templated values pass',
      '    services:',
      '      web:',
      '        <<: *common',
      '        x-build-notes: none',
      '        ports: ["{{ web_port }}:80", 8080, "127.0.0.1::53/udp"]',
      '        stop_grace_period: 1h30m',
      '        mem_limit: "{{ web_memory }}"',
      '        health: { exec: ["true"] }',
    ].join('\n'),
    'ok.yml',
  );
  assert.ok(r.ok, r.ok ? '' : show(r.error));
  const data = r.value.data as unknown as Record<string, unknown>;
  assert.not.ok('x-common' in data);
  const play = r.value.data.plays[0];
  assert.not.ok('x-owner' in play);
  assert.not.ok('x-note' in (play.tasks?.[0] ?? {}));
  const web = play.services?.web;
  assert.is(web?.image, 'lab/busybox', 'merged from the anchor');
  assert.is(web?.restart, 'always');
  assert.not.ok(web && 'x-build-notes' in web);
});

test('an inventory in the exact format the lab writes is valid, and hosts may be empty', () => {
  const lab = [
    '# berth inventory (written by `berth lab up`)',
    'ssh:                      # connection defaults for every host',
    '  user: root',
    '  key: id_ed25519         # paths are relative to this file',
    '  known_hosts: known_hosts',
    'hosts:',
    '  h1:',
    '    address: 127.0.0.1',
    '    port: 40123',
    '    vars: { lab_ip: 172.30.0.11, lab_name: demo }',
    '  h2:',
    'groups:',
    '  lab: { hosts: [h1, h2] }',
    '  web: { hosts: [h1], children: [lab], vars: { tier: front } }',
    'vars:',
    '  berth_apt_repo: "deb [trusted=yes] http://127.0.0.1:3142 ./"',
  ].join('\n');
  const r = parseInventory(lab);
  assert.ok(r.ok, r.ok ? '' : show(r.error));
  assert.is(r.value.data.hosts?.h1?.port, 40123);
  assert.is(r.value.data.hosts?.h2, null);
});

test('later stages can point at any value of a loaded playbook', () => {
  const r = parsePlaybook('plays:\n  - hosts: all\n    tasks:\n      - name: one\n        command: ls\n      - command:\n          argv: [echo, "{{ nope }}"]\n', 'site.yml');
  assert.ok(r.ok);
  assert.is(r.value.where(['plays', 0, 'tasks', 1, 'command', 'argv', 1]), 'site.yml:7:24');
  assert.is(r.value.where('plays[0].tasks[1].command.argv[1]'), 'site.yml:7:24');
  assert.is(r.value.where('plays[0].tasks[0].command', { key: true }), 'site.yml:5:9');
  assert.equal(r.value.position('plays[0].tasks[0]'), { line: 4, col: 9 });
});

test('a document is a playbook or an inventory by its content', () => {
  const pb = parseDocument('plays:\n  - hosts: all\n', 'a.yml');
  assert.ok(pb.ok && pb.value.kind === 'playbook');
  const inv = parseDocument('groups: { web: }\n', 'b.yml');
  assert.ok(inv.ok && inv.value.kind === 'inventory');
  const neither = parseDocument('foo: 1\n', 'c.yml');
  assert.ok(!neither.ok && neither.error[0].code === 'file.unknown-kind');
  assert.match(neither.ok ? '' : (neither.error[0].hint ?? ''), /plays/);
});

test('files a playbook names are checked, relative to the playbook', () => {
  const dir = join(scratch, 'refs');
  mkdirSync(join(dir, 'vars'), { recursive: true });
  mkdirSync(join(dir, 'app'), { recursive: true });
  writeFileSync(join(dir, 'app', 'Dockerfile'), 'FROM lab/busybox\n');
  writeFileSync(join(dir, 'vars', 'good.yml'), 'port: 80\n');
  writeFileSync(join(dir, 'vars', 'bad.yml'), 'port: 80\nport: 81\n"not a name": 1\n');
  writeFileSync(
    join(dir, 'site.yml'),
    'vars_files: [vars/good.yml, vars/bad.yml, vars/missing.yml]\nplays:\n  - hosts: all\n    services:\n      web: { build: app }\n      api: { build: { context: app, dockerfile: Nope.dockerfile } }\n',
  );
  const r = loadPlaybook(join(dir, 'site.yml'));
  assert.ok(!r.ok);
  const got = r.error.map((e) => `${e.file.replace(`${dir}/`, '')}:${e.line}:${e.col} ${e.code}`);
  assert.equal(got, ['site.yml:1:43 playbook.missing-file', 'site.yml:6:49 playbook.missing-file', 'vars/bad.yml:2:1 yaml.duplicate-key', 'vars/bad.yml:3:1 schema.bad-name'], show(r.error));
});

test('every schema property has a description (the docs are generated from them)', () => {
  const missing: string[] = [];
  const walk = (s: unknown, at: string) => {
    if (!s || typeof s !== 'object') return;
    const o = s as Record<string, unknown>;
    if (o.properties && typeof o.properties === 'object') {
      for (const [k, v] of Object.entries(o.properties as Record<string, Record<string, unknown>>)) {
        if (typeof v.description !== 'string' || v.description.length < 3) missing.push(`${at}.${k}`);
        walk(v, `${at}.${k}`);
      }
    }
    for (const key of ['anyOf', 'items', 'additionalProperties']) {
      const sub = o[key];
      if (Array.isArray(sub)) sub.forEach((x, i) => walk(x, `${at}.${key}[${i}]`));
      else walk(sub, `${at}.${key}`);
    }
  };
  walk(Playbook, 'playbook');
  walk(Inventory, 'inventory');
  for (const s of sharedSchemas()) walk(s, String(s.$id));
  assert.equal(missing, []);
});

test('root validators are built once per process', () => {
  assert.is(rootValidator('playbook'), rootValidator('playbook'));
});

// The real CLI, as a person runs it: through the command tree and the error reporter.
const tsx = import.meta.resolve('tsx');

function berth(...args: string[]) {
  const r = spawnSync(process.execPath, ['--import', tsx, join(root, 'cli/main.ts'), ...args], { cwd: scratch, encoding: 'utf8', env: { ...process.env } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('CLI: a malformed playbook exits 2 with FILE:LINE:COL, at and hint lines, and no stack trace', () => {
  writeFileSync(join(scratch, 'bad.yml'), 'plays:\n  - hosts: all\n    tasks:\n      - comand: ls\n      - command: ls\n        ping:\n');
  const r = berth('validate', 'bad.yml');
  assert.is(r.code, 2, r.stderr);
  assert.is(r.stdout, '');
  assert.match(r.stderr, /^bad\.yml:4:9: unknown key "comand" in a task\n {2}at: plays\[0\]\.tasks\[0\]\.comand\n {2}hint: did you mean "command"\?\n/);
  assert.match(r.stderr, /bad\.yml:6:9: a task needs exactly one module: found both "command" and "ping"/);
  assert.not.match(r.stderr, /^\s+at .*\(|^\s{4}at /m);
});

test('CLI: a YAML syntax error and a missing file are clean errors too', () => {
  writeFileSync(join(scratch, 'tabs.yml'), 'plays:\n\t- hosts: all\n');
  const r = berth('validate', 'tabs.yml', 'missing.yml');
  assert.is(r.code, 2);
  assert.match(r.stderr, /tabs\.yml:2:1: a tab is used for indentation\n {2}hint: YAML indents with spaces only/);
  assert.match(r.stderr, /missing\.yml: no such file/);
  assert.not.match(r.stderr, /^\s{4}at |Error:|node:internal/m);
});

test('CLI: valid files print one ok line each; a playbook brings its inventory file along', () => {
  writeFileSync(join(scratch, 'hosts.yml'), 'hosts:\n  h1: { address: 127.0.0.1 }\n  h2:\ngroups:\n  web: { hosts: [h1, h2] }\n');
  writeFileSync(join(scratch, 'site.yml'), 'name: site\ninventory: hosts.yml\nplays:\n  - hosts: web\n    tasks:\n      - ping:\n      - command: uptime\n    services:\n      web: { image: lab/busybox }\n');
  const r = berth('validate', 'site.yml');
  assert.is(r.code, 0, r.stderr);
  assert.is(r.stdout, 'site.yml: ok (1 play, 2 tasks, 1 service)\nhosts.yml: ok (inventory: 2 hosts, 1 group)\n');
});

test('CLI: mistakes in a playbook\'s inventory file, or a play targeting a group it lacks, fail the playbook', () => {
  writeFileSync(join(scratch, 'inv-bad.yml'), 'hosts:\n  h1: { adress: 127.0.0.1 }\n');
  writeFileSync(join(scratch, 'uses-bad.yml'), 'inventory: inv-bad.yml\nplays:\n  - hosts: all\n');
  const bad = berth('validate', 'uses-bad.yml');
  assert.is(bad.code, 2);
  assert.match(bad.stderr, /inv-bad\.yml:2:9: unknown key "adress" in host "h1"/);
  writeFileSync(join(scratch, 'inv-good.yml'), 'hosts: { h1: }\ngroups: { web: { hosts: [h1] } }\n');
  writeFileSync(join(scratch, 'targets.yml'), 'inventory: inv-good.yml\nplays:\n  - hosts: db\n');
  const lacking = berth('validate', 'targets.yml');
  assert.is(lacking.code, 2);
  assert.match(lacking.stderr, /targets\.yml:3:12: hosts: "db" is neither a host nor a group of inv-good\.yml/);
});

test.after(() => rmSync(scratch, { recursive: true, force: true }));

test.run();
