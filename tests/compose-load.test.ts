// A playbook's Compose files are read when the playbook is loaded: `berth validate` reports
// every problem of a Compose file at once, at its file:line:col with the key's path and a hint,
// and `berth apply` stops on them (exit 2) before it contacts any host. Interpolation takes its
// variables from .env, the play's vars and the environment. The real CLI, as a person runs it.
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { BERTH_ONLY, NESTED_UNSUPPORTED, SERVICE_KEYS, SERVICE_UNSUPPORTED, TOP_LEVEL_UNSUPPORTED } from '../controller/compose/keys.js';
import { loadForRun } from '../controller/run/load-for-run.js';
import { playServices } from '../controller/services/play-services.js';

const root = new URL('..', import.meta.url).pathname;
const fixtures = join(root, 'tests/fixtures/compose');
const scratch = mkdtempSync(join(tmpdir(), 'berth-compose-'));
const tsx = import.meta.resolve('tsx');
// The variables the fixtures use are not taken from whoever runs the tests.
const cleanEnv = () => {
  const env: Record<string, string | undefined> = { ...process.env, BERTH_CACHE_DIR: join(scratch, 'cache'), CI: 'true' };
  for (const k of ['TAG', 'TOKEN', 'GREETING', 'PASSED', 'NOT_PASSED', 'NOT_SET_ANYWHERE', 'REPLICAS', 'DATA_VOLUME', 'READ_ONLY']) delete env[k];
  return env;
};

function berth(args: string[], opts: { cwd?: string; env?: Record<string, string> } = {}) {
  const r = spawnSync(process.execPath, ['--import', tsx, join(root, 'cli/main.ts'), ...args], { cwd: opts.cwd ?? fixtures, encoding: 'utf8', env: { ...cleanEnv(), ...opts.env } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** The problems `berth validate` printed: the FILE:LINE:COL: line, then its `at:` and `hint:` lines. */
function problems(stderr: string): Array<{ where: string; message: string; at?: string; hint?: string }> {
  const out: Array<{ where: string; message: string; at?: string; hint?: string }> = [];
  for (const line of stderr.split('\n')) {
    const head = /^(\S+:\d+:\d+): (.*)$/.exec(line);
    if (head) out.push({ where: head[1], message: head[2] });
    else if (line.startsWith('  at: ') && out.length) out[out.length - 1].at = line.slice(6);
    else if (line.startsWith('  hint: ') && out.length) out[out.length - 1].hint = line.slice(8);
  }
  return out;
}

test('validate: every problem of a Compose file in one run, each once, at its line, with the key\'s path and a hint', () => {
  const r = berth(['validate', 'problems.yml']);
  assert.is(r.code, 2, r.stdout + r.stderr);
  assert.is(r.stdout, '');
  const got = problems(r.stderr);
  const expected: Array<[string, string | RegExp, string, RegExp]> = [
    ['7:7', 'unknown key "foo" in services.web.build', 'services.web.build.foo', /allowed keys: context, dockerfile/],
    ['8:7', 'Compose key "ssh" in services.web.build is not supported by berth', 'services.web.build.ssh', /remove it: berth builds without SSH/],
    ['9:22', 'service "web" depends on "cache", which is not a service of this file', 'services.web.depends_on[1]', /services of this file: db/],
    ['10:15', 'service "web" mounts the volume "data", which the file does not declare', 'services.web.volumes[0]', /volumes: \{ data: \{\} \}/],
    ['11:5', 'service "web" sets container_name but runs 2 replicas', 'services.web.container_name', /remove container_name/],
    ['12:28', 'Compose key "placement" in services.web.deploy is not supported by berth', 'services.web.deploy.placement', /hosts: pattern/],
    ['14:16', /ipv4_address on the network "front", which berth creates without a fixed subnet/, 'services.web.networks.front.ipv4_address', /external: true/],
    ['15:5', 'service "web" has both networks and network_mode, which exclude each other', 'services.web.network_mode', /keep networks:/],
    ['16:15', 'service "web" uses the secret "tokn", which the file does not declare', 'services.web.secrets[0]', /did you mean "token"\?/],
    ['18:14', 'required variable TOKEN is missing a value: set TOKEN to the API token', 'services.web.environment.TOKEN', /set TOKEN in the environment/],
    ['20:14', 'invalid interpolation "costs ${"', 'services.web.labels.price', /write \$\$ for a literal \$/],
    ['23:5', 'unknown key "enviroment" in services.db: not a Compose key', 'services.db.enviroment', /did you mean "environment"\?/],
    ['26:5', 'Compose key "ipam" in networks.front is not supported by berth', 'networks.front.ipam', /external: true/],
    ['28:31', 'Compose key "external" in secrets.token is not supported by berth', 'secrets.token.external', /berth ships the file itself/],
  ];
  assert.equal(got.map((p) => p.where), expected.map(([lc]) => `problems/compose.yaml:${lc}`), r.stderr);
  got.forEach((p, i) => {
    const [, message, at, hint] = expected[i];
    if (typeof message === 'string') assert.is(p.message, message);
    else assert.match(p.message, message);
    assert.is(p.at, at, p.message);
    assert.match(p.hint ?? '', hint, p.message);
    assert.not.match(p.hint ?? '', /^not supported by berth$/, 'a hint says what to write instead');
  });
  assert.not.match(r.stderr, /must NOT have|must match|additional properties/, 'no raw validator text');
});

test('validate: a playbook\'s own mistakes and its Compose file\'s come out together', () => {
  const dir = join(scratch, 'both');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'compose.yaml'), 'services:\n  web:\n    image: busybox\n    scale: 2\n');
  writeFileSync(join(dir, 'site.yml'), 'plays:\n  - hosts: all\n    becom: true\n    compose: compose.yaml\n');
  const r = berth(['validate', 'site.yml'], { cwd: dir });
  assert.is(r.code, 2);
  assert.equal(problems(r.stderr).map((p) => p.where), ['site.yml:3:5', 'compose.yaml:4:5'], r.stderr);
  assert.match(r.stderr, /Compose key "scale" in services\.web is not supported by berth\n {2}at: services\.web\.scale\n {2}hint: write deploy: \{ replicas: N \}/);
});

test('validate: a Compose v1 file is refused with one message that names the format and the fix', () => {
  const r = berth(['validate', 'v1.yml']);
  assert.is(r.code, 2);
  const got = problems(r.stderr);
  assert.is(got.length, 1, r.stderr);
  assert.is(got[0].where, 'v1/docker-compose.yml:2:1');
  assert.match(got[0].message, /Compose v1 file: services at the top level \("web"\) and no services: key/);
  assert.match(got[0].hint ?? '', /put "services:" on the first line and indent the services under it/);
});

test('validate: a compose: file that does not exist is exit 2 at the playbook\'s compose: key', () => {
  const r = berth(['validate', 'missing.yml']);
  assert.is(r.code, 2, r.stdout);
  assert.is(r.stdout, '');
  const got = problems(r.stderr);
  assert.equal(got.map((p) => `${p.where} ${p.message}`), ['missing.yml:3:14 compose: "nowhere/compose.yaml" does not exist']);
  assert.match(got[0].hint ?? '', /relative to the playbook's folder \(looked for nowhere\/compose\.yaml\)/);
});

/** A TCP port on loopback that counts the connections made to it (and closes them at once). */
async function countingPort(): Promise<{ port: number; connections: () => number; server: Server }> {
  let n = 0;
  const server = createServer((socket) => {
    n++;
    socket.destroy();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { port: (server.address() as { port: number }).port, connections: () => n, server };
}

function berthAsync(args: string[], cwd: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', tsx, join(root, 'cli/main.ts'), ...args], { cwd, env: cleanEnv() });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

test('apply: a missing or broken Compose file is exit 2 before any host is contacted', async () => {
  const host = await countingPort();
  try {
    const dir = join(scratch, 'apply');
    mkdirSync(join(dir, 'broken'), { recursive: true });
    writeFileSync(join(dir, 'hosts.yml'), `hosts:\n  h1: { address: 127.0.0.1, port: ${host.port}, user: nobody }\n`);
    writeFileSync(join(dir, 'missing.yml'), 'plays:\n  - hosts: all\n    compose: nowhere/compose.yaml\n');
    writeFileSync(join(dir, 'broken/compose.yaml'), 'services:\n  web:\n    image: "busybox:${TAG:?give the tag}"\n');
    writeFileSync(join(dir, 'broken.yml'), 'plays:\n  - hosts: all\n    compose: broken/compose.yaml\n');
    for (const [pb, words] of [
      ['missing.yml', /missing\.yml:3:14: compose: "nowhere\/compose\.yaml" does not exist/],
      ['broken.yml', /broken\/compose\.yaml:3:12: required variable TAG is missing a value: give the tag/],
    ] as const) {
      for (const command of ['apply', 'plan']) {
        const r = await berthAsync([command, pb, '-i', 'hosts.yml'], dir);
        assert.is(r.code, 2, `${command} ${pb}: ${r.stdout}${r.stderr}`);
        assert.match(r.stdout + r.stderr, words);
        assert.not.match(r.stdout + r.stderr, /UNREACHABLE|unreachable/);
      }
    }
    assert.is(host.connections(), 0, 'no connection was made to the host');
  } finally {
    host.server.close();
  }
});

test('interpolation: .env, the play\'s vars and the environment, env_file as the container\'s environment, {{ }} as text', () => {
  const saved = { ...process.env };
  try {
    for (const k of Object.keys(cleanEnv())) if (!(k in saved)) delete process.env[k];
    for (const k of ['TAG', 'GREETING', 'NOT_SET_ANYWHERE', 'REPLICAS', 'DATA_VOLUME', 'READ_ONLY', 'NOT_PASSED']) delete process.env[k];
    process.env.PASSED = 'from the environment';
    process.env.REPLICAS = '3';
    const r = loadForRun(join(fixtures, 'interpolated.yml'));
    if (!r.ok) throw new Error(r.error.map((e) => `${e.where}: ${e.message}`).join('\n'));
    const found = playServices(r.value.doc.plays[0], fixtures, (p) => p.join('.'));
    if (!found.ok) throw new Error(found.error.message);
    const web = found.value.services.web;
    assert.is(web.image, 'lab/shop-web:1.36', 'the play\'s var beats .env');
    assert.equal(web.command, ['sh', '-c', 'echo ${HOME} from the play; sleep 3600'], '$$ is one literal $');
    assert.equal(web.deploy, { replicas: 3 }, 'the environment beats .env, and replicas is a number again');
    assert.is(web.read_only, true, 'a default cast to a boolean');
    assert.equal(web.volumes, ['data:/data'], '.env fills what nothing else sets');
    assert.equal(web.environment, {
      FROM_FILE: 'from environment',
      ONLY_FILE: 'from the play!',
      TEMPLATE_TEXT: '{{ not_a_template }}',
      PASSED: 'from the environment',
    });
    assert.is(web.env_file, undefined, 'the env files were read on the controller, relative to the Compose file');
    assert.equal(web.labels, { unset: '[]' });
    assert.equal(r.value.warnings.map((w) => `${w.where?.replace(/^.*fixtures\//, '')} ${w.message}`), ['compose/interpolated/compose.yaml:17:14 variable NOT_SET_ANYWHERE is not set: it is read as an empty string']);
    assert.ok(found.value.literal.has('web'), 'the plan does not render the Compose file\'s values as templates');
    assert.is(r.value.doc.name, 'shop', 'the Compose file\'s name: names the project');
  } finally {
    for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k];
    Object.assign(process.env, saved);
  }
});

test('validate: an unset variable is a warning with its place, and the file is still valid', () => {
  const r = berth(['validate', 'interpolated.yml'], { env: { REPLICAS: '2' } });
  assert.is(r.code, 0, r.stderr);
  assert.is(r.stdout, 'interpolated.yml: ok (1 play, 0 tasks, 1 service)\n');
  assert.match(r.stderr, /^interpolated\/compose\.yaml:17:14: warning: variable NOT_SET_ANYWHERE is not set: it is read as an empty string\n {2}at: services\.web\.labels\.unset\n {2}hint: .*\$\{NOT_SET_ANYWHERE:-value\}/);
});

test('the top-level name: names the project unless the playbook names it; two different names conflict', () => {
  const dir = join(scratch, 'names');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'a.yaml'), 'name: alpha\nservices:\n  a: { image: busybox }\n');
  writeFileSync(join(dir, 'b.yaml'), 'name: beta\nservices:\n  b: { image: busybox }\n');
  writeFileSync(join(dir, 'bad.yaml'), 'name: Not Valid\nservices:\n  c: { image: busybox }\n');
  writeFileSync(join(dir, 'two.yml'), 'plays:\n  - hosts: all\n    compose: a.yaml\n  - hosts: all\n    compose: b.yaml\n');
  writeFileSync(join(dir, 'named.yml'), 'name: site\nplays:\n  - hosts: all\n    compose: a.yaml\n');
  writeFileSync(join(dir, 'bad.yml'), 'plays:\n  - hosts: all\n    compose: bad.yaml\n');
  const two = berth(['validate', 'two.yml'], { cwd: dir });
  assert.is(two.code, 2);
  assert.match(two.stderr, /^b\.yaml:1:7: this Compose file names the project "beta", another one of the playbook "alpha"\n {2}hint: a playbook is one project: give the playbook a name:/);
  const named = berth(['validate', 'named.yml'], { cwd: dir });
  assert.is(named.code, 0, named.stderr);
  assert.match(named.stderr, /^a\.yaml:1:7: warning: the project is named "site" by the playbook's name:, not "alpha"/);
  const bad = berth(['validate', 'bad.yml'], { cwd: dir });
  assert.is(bad.code, 2);
  assert.match(bad.stderr, /bad\.yaml:1:7: name: "Not Valid" is not a project name Compose accepts\n {2}at: name\n {2}hint: .*name: not-valid/);
  const one = loadForRun(join(dir, 'named.yml'));
  assert.ok(one.ok && one.value.doc.name === 'site');
  writeFileSync(join(dir, 'alpha.yml'), 'plays:\n  - hosts: all\n    compose: a.yaml\n');
  const alpha = loadForRun(join(dir, 'alpha.yml'));
  assert.ok(alpha.ok && alpha.value.doc.name === 'alpha', 'the Compose name is the project name');
});

test('docs/services.md names every Compose key berth takes and every one it refuses', () => {
  const doc = readFileSync(join(root, 'docs/services.md'), 'utf8');
  const section = doc.slice(doc.indexOf('### Compose keys in berth'));
  const missing = [...SERVICE_KEYS, ...Object.keys(SERVICE_UNSUPPORTED), ...Object.keys(TOP_LEVEL_UNSUPPORTED), ...BERTH_ONLY, ...Object.keys(NESTED_UNSUPPORTED).map((k) => k.split('.').pop()!)].filter(
    (k) => !section.includes(`\`${k}\``) && !section.includes(`.${k}\``) && !new RegExp(`[ (\`]${k}[,)\` ]`).test(section),
  );
  assert.equal(missing, []);
});

test.after(() => rmSync(scratch, { recursive: true, force: true }));

test.run();
