// The command line as an operator meets it, without hosts: every command has help with an
// example and BERTH_* twins for its flags; `berth inventory` shows what a run would target
// without printing key contents; ink loads only for the live view; errors carry no stack.
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';

const root = new URL('..', import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'berth-cli-'));

function berth(args: string[], opts: { env?: Record<string, string>; node?: string[]; input?: string } = {}): SpawnSyncReturns<string> {
  return spawnSync(process.execPath, [...(opts.node ?? []), join(root, 'bin/berth.js'), ...args], {
    cwd: dir,
    encoding: 'utf8',
    env: { ...process.env, CI: 'true', ...opts.env },
    input: opts.input,
  });
}

const write = (name: string, text: string) => {
  writeFileSync(join(dir, name), text);
  return join(dir, name);
};

/** Commands listed under `Commands:` in a help text (names only, aliases and `help` left out). */
function listed(help: string): string[] {
  const at = help.indexOf('\nCommands:\n');
  if (at < 0) return [];
  const block = help.slice(at + 11).split('\n\n')[0]!;
  return block.split('\n').map((l) => /^ {2}([a-z][\w-]*)/.exec(l)?.[1]).filter((n): n is string => !!n && n !== 'help');
}

function allCommands(): string[][] {
  const out: string[][] = [];
  const visit = (path: string[]) => {
    const help = berth([...path, '--help']).stdout;
    for (const name of listed(help)) {
      out.push([...path, name]);
      visit([...path, name]);
    }
  };
  visit([]);
  return out;
}

test('every command has a description, an example, and a BERTH_* twin for every flag', () => {
  const commands = allCommands();
  const names = commands.map((c) => c.join(' '));
  for (const expected of ['validate', 'apply', 'plan', 'lab', 'lab up', 'lab down', 'lab status', 'version', 'inventory']) assert.ok(names.includes(expected), `${expected} is registered`);
  for (const c of commands) {
    const r = berth([...c, '--help']);
    assert.is(r.status, 0, c.join(' '));
    const help = r.stdout;
    assert.match(help, /\nExamples?:\n {2}berth /, `berth ${c.join(' ')} --help has an example`);
    const options = help.slice(help.indexOf('Options:\n'), help.search(/\n\n(Commands|Examples?|[A-Z])/) >>> 0);
    const flags = [...options.matchAll(/^ {2}(?:-\w, )?(--[\w-]+)/gm)].map((m) => m[1]!).filter((f) => f !== '--help');
    for (const f of flags) {
      const entry = options.slice(options.indexOf(f)).split(/\n {2}-/)[0]!.replace(/\s+/g, ' ');
      assert.match(entry, /env: BERTH_[A-Z_]+/, `berth ${c.join(' ')} ${f} has an environment twin`);
    }
  }
});

test('the top-level help documents the exit codes', () => {
  const help = berth(['--help']).stdout;
  for (const line of [/ 0 +ok/, / 1 +a task failed/, / 2 +bad input/, / 3 +a host was unreachable/, / 4 +a rollout was reverted/, / 130 +cancelled/]) assert.match(help, line);
});

test('an env twin works like its flag, including being bad input', () => {
  const r = berth(['apply', 'whatever.yml'], { env: { BERTH_FORKS: '0' } });
  assert.is(r.status, 2);
  assert.match(r.stderr, /--forks must be a whole number of 1 or more, not "0"/);
});

test('mistakes on the command line: one message, the command to get help, exit 2, no stack', () => {
  const cases: Array<[string[], RegExp]> = [
    [['frobnicate'], /unknown command 'frobnicate'/],
    [['apply'], /missing required argument 'playbook'/],
    [['apply', 'x.yml', '--bogus'], /unknown option '--bogus'\n\(run `berth apply --help` for usage\)/],
    [['lab', 'up', '--hosts', 'zero'], /expected a whole number of hosts[\s\S]*berth lab up --help/],
    [['apply', 'no-such.yml'], /no-such\.yml: no such file\n {2}hint: /],
    [['inventory'], /which inventory\? give an inventory file with -i FILE or a playbook\n {2}hint: for example/],
  ];
  for (const [args, message] of cases) {
    const r = berth(args);
    assert.is(r.status, 2, args.join(' '));
    assert.match(r.stderr, message);
    assert.not.match(r.stderr, /\n\s+at \S+ \(/, 'no stack trace');
  }
});

test('version: berth, agent protocol and event schema versions; --json for scripts', () => {
  assert.match(berth(['version']).stdout, /^berth \d+\.\d+\.\d+ \(agent protocol \d+, events v\d+, node \d+\.\d+\.\d+\)\n$/);
  const v = JSON.parse(berth(['version', '--json']).stdout) as Record<string, unknown>;
  assert.equal(Object.keys(v), ['berth', 'protocol', 'events', 'node']);
});

const INVENTORY = `ssh: { user: deploy, key: keys/id_ed25519, known_hosts: keys/known_hosts }
vars: { app_version: "1.2.0", region: eu }
hosts:
  web1: { address: 10.0.0.1, port: 2222 }
  web2: { address: 10.0.0.2 }
  db1:
    address: 10.0.0.3
    user: postgres
    vars:
      tls_key: "-----BEGIN OPENSSH PRIVATE KEY-----\\nb3BlbnNzaC1rZXktdjEAAAAA\\n-----END OPENSSH PRIVATE KEY-----\\n"
      password_hint: ask the DBA
groups:
  web: { hosts: [web1, web2], vars: { port: 8080 } }
  db: { hosts: [db1], vars: { region: us } }
`;

test('inventory: hosts with their address and groups, the groups, and vars resolved per host', () => {
  const inv = write('inventory.yml', INVENTORY);
  const r = berth(['inventory', '-i', inv]);
  assert.is(r.status, 0, r.stderr);
  assert.equal(r.stdout.split('\n'), [
    `inventory ${inv}: 3 hosts, 2 groups`,
    '',
    'HOST  ADDRESS        USER      GROUPS',
    'web1  10.0.0.1:2222  deploy    web',
    'web2  10.0.0.2       deploy    web',
    'db1   10.0.0.3       postgres  db',
    '',
    'GROUP  HOSTS',
    'all    web1 web2 db1',
    'web    web1 web2',
    'db     db1',
    '',
    'VARS (resolved: all < groups < host)',
    'web1, web2:',
    '  app_version: 1.2.0',
    '  region: eu',
    '  port: 8080',
    'db1:',
    '  app_version: 1.2.0',
    '  region: us',
    '  tls_key: "(private key: not shown)"',
    '  password_hint: ask the DBA',
    '',
  ]);
});

test('inventory --host: one host in full; a key by its path, never its content', () => {
  const inv = write('inventory.yml', INVENTORY);
  const r = berth(['inventory', '-i', inv, '--host', 'db1']);
  assert.is(r.status, 0, r.stderr);
  assert.equal(r.stdout.split('\n'), [
    'host db1',
    '  address      10.0.0.3',
    '  user         postgres',
    `  key          ${join(dir, 'keys/id_ed25519')}`,
    `  known_hosts  ${join(dir, 'keys/known_hosts')}`,
    '  groups       all, db',
    'vars (resolved: all < groups < host):',
    '  app_version: 1.2.0',
    '  region: us',
    '  tls_key: "(private key: not shown)"',
    '  password_hint: ask the DBA',
    '',
  ]);
  const json = JSON.parse(berth(['inventory', '-i', inv, '--json']).stdout) as { source: string; hosts: Array<{ name: string; connection: Record<string, unknown>; groups: string[]; vars: Record<string, unknown> }>; groups: Record<string, string[]> };
  assert.is(json.source, inv);
  assert.equal(json.hosts.map((h) => h.name), ['web1', 'web2', 'db1']);
  assert.equal(json.hosts[0]!.connection, { address: '10.0.0.1', port: 2222, user: 'deploy', key: join(dir, 'keys/id_ed25519'), known_hosts: join(dir, 'keys/known_hosts') });
  assert.equal(json.groups, { web: ['web1', 'web2'], db: ['db1'], all: ['web1', 'web2', 'db1'] });
  assert.not.match(JSON.stringify(json), /b3BlbnNzaC1rZXktdjE|BEGIN OPENSSH/);
  const unknown = berth(['inventory', '-i', inv, '--host', 'web9']);
  assert.is(unknown.status, 2);
  assert.match(unknown.stderr, /--host: "web9" is not a host of .*inventory\.yml\n {2}hint: hosts: web1, web2, db1/);
});

test("inventory PLAYBOOK: the playbook's own inventory, as apply would use it", () => {
  write('inventory.yml', INVENTORY);
  const pb = write('site.yml', 'name: site\ninventory: inventory.yml\nplays:\n  - hosts: web\n    tasks:\n      - ping:\n');
  const r = berth(['inventory', pb, '--json']);
  assert.is(r.status, 0, r.stderr);
  assert.is((JSON.parse(r.stdout) as { hosts: unknown[] }).hosts.length, 3);
});

test('ink is loaded only for the live view: not for --help, --json, --plain or a pipe', () => {
  // A module hook records every import of ink or react by the CLI process.
  const log = join(dir, 'loaded.log');
  write('hooks.mjs', `import { appendFileSync } from 'node:fs';\nexport async function resolve(spec, ctx, next) {\n  if (spec === 'ink' || spec === 'react') appendFileSync(${JSON.stringify(log)}, spec + '\\n');\n  return next(spec, ctx);\n}\n`);
  write('register.mjs', `import { register } from 'node:module';\nregister(new URL('./hooks.mjs', import.meta.url));\n`);
  const inv = write('dead.yml', 'hosts:\n  dead: { address: 127.0.0.1, port: 1, user: root }\n');
  const pb = write('ping.yml', 'name: ping\nplays:\n  - hosts: all\n    tasks:\n      - ping:\n');
  const node = ['--import', join(dir, 'register.mjs')];
  const runs: Array<[string[], Record<string, string>]> = [
    [['--help'], {}],
    [['apply', pb, '-i', inv, '--json'], { CI: 'false' }],
    [['apply', pb, '-i', inv, '--plain'], { CI: 'false' }],
    [['apply', pb, '-i', inv], { CI: 'false' }],
    [['plan', pb, '-i', inv], {}],
  ];
  for (const [args, env] of runs) {
    rmSync(log, { force: true });
    const r = berth(args, { node, env });
    assert.ok(r.status === 0 || r.status === 3, `${args.join(' ')}: exit ${r.status}\n${r.stderr}`);
    assert.not.ok(existsSync(log), `berth ${args.join(' ')} loaded ${existsSync(log) ? readFileSync(log, 'utf8') : ''}`);
  }
  // The same hook sees ink when stdout is a terminal (script(1) gives the CLI a pty).
  rmSync(log, { force: true });
  const tty = spawnSync('script', ['-qec', [process.execPath, ...node, join(root, 'bin/berth.js'), 'apply', pb, '-i', inv].join(' '), '/dev/null'], { cwd: dir, encoding: 'utf8', env: { ...process.env, CI: 'false' } });
  assert.is(tty.status, 3, tty.stdout);
  assert.match(readFileSync(log, 'utf8'), /^ink$/m);
});

test('the bundle keeps ink out of every chunk but the live view, which is only imported dynamically', () => {
  // Walk the chunks `berth` can load, from its entry, as Node would.
  const dist = join(root, 'dist');
  const seen = new Map<string, 'static' | 'dynamic'>();
  const walk = (file: string, how: 'static' | 'dynamic') => {
    if (seen.get(file) === 'static' || (seen.has(file) && how === 'dynamic')) return;
    seen.set(file, how);
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(/(?:from\s*|import\()"(\.{1,2}\/[^"]+\.js)"/g)) walk(join(dirname(file), m[1]!), m[0].startsWith('import(') ? how === 'static' ? 'dynamic' : how : how);
  };
  walk(join(dist, 'cli/main.js'), 'static');
  const withInk = [...seen.keys()].filter((f) => /from\s*"ink"/.test(readFileSync(f, 'utf8')));
  assert.equal(withInk.map((f) => basename(f).replace(/-[A-Z0-9]+\.js$/, '')), ['render-run']);
  assert.is(seen.get(withInk[0]!), 'dynamic', 'start-up never loads the live view');
  for (const [f, how] of seen) if (how === 'static') assert.not.match(readFileSync(f, 'utf8'), /from\s*"(ink|react)"/, f);
});

test.after(() => rmSync(dir, { recursive: true, force: true }));

test.run();
