// Images on real lab hosts over real SSH: builds named by their content (an unchanged context
// builds and sends nothing, a changed file sends only itself), registry push and pull with
// credentials against Debian's docker-registry, registry-less shipping from the controller's
// engine that sends only the layers a host lacks, and retention. Results are checked on the
// hosts with `docker image inspect` over OpenSSH, bytes with the run's blob registry.
import { execFile, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parse, stringify } from 'yaml';
import { connect, resolveTarget, type SshSession } from '../controller/ssh/index.js';
import { scanContext } from '../modules/lib/docker-context.js';
import { dockerfileBases } from '../modules/lib/docker-dockerfile.js';
import type { RunEvent } from '../controller/run/events.js';
import { startRegistry as startDockerRegistry, type TestRegistry } from './helpers/docker-registry.js';
import { sshLab, startLab, type LabHost, type TestLab } from './helpers/lab.js';
import { ran, testAgent, type TaskSpec, type TestAgent } from './modules/run-tasks.js';

const pexec = promisify(execFile);
const work = mkdtempSync(join(tmpdir(), 'berth-images-'));
let lab: TestLab;
let aptRepo: string;
let gateway: string;
let registryPort: number;
const hosts: Array<{ host: LabHost; session: SshSession; agent: TestAgent }> = [];
/** Images this file made on the controller's engine, removed at the end. */
const controllerImages = new Set<string>();

const onHost = (h: LabHost, cmd: string) => sshLab(lab, h, cmd);

/** `docker image inspect` on the host: the image's ID, or '' when the host has no such image. */
const imageId = async (h: LabHost, ref: string) => (await onHost(h, `docker image inspect --format '{{.Id}}' ${ref} 2>/dev/null`)).stdout;

async function connectHost(host: LabHost) {
  const target = resolveTarget({ name: host.name, address: host.address, port: host.port, user: 'root', key: lab.keyPath, known_hosts: lab.knownHostsPath }, { sshConfigPath: null, env: {} });
  if (!target.ok) throw new Error(target.error.message);
  const s = await connect(target.value);
  if (!s.ok) throw new Error(s.error.message);
  return { host, session: s.value, agent: await testAgent(s.value, host.name) };
}

function freePort(address: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, address, () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

function write(dir: string, files: Record<string, string | Buffer>) {
  for (const [name, content] of Object.entries(files)) {
    mkdirSync(join(dir, name, '..'), { recursive: true });
    writeFileSync(join(dir, name), content);
  }
}

// ------------------------------------------------------------------------------------------
// Contexts and Dockerfiles, on the controller alone.

test('a context is what docker build would send: .dockerignore applied, Dockerfile always kept', () => {
  const dir = join(work, 'ignore');
  write(dir, {
    Dockerfile: 'FROM scratch\n',
    '.dockerignore': 'Dockerfile\nsecret.txt\nlogs\n*.tmp\n!keep.tmp\n',
    'app/main.sh': 'echo hi\n',
    'secret.txt': 'password\n',
    'logs/a.log': 'x\n',
    'drop.tmp': 'x',
    'keep.tmp': 'y',
  });
  const r = scanContext(dir, 'Dockerfile');
  assert.ok(r.ok);
  if (!r.ok) return;
  const paths = r.value.entries.map((e) => e.path);
  assert.equal(paths, ['.dockerignore', 'Dockerfile', 'app', 'app/main.sh', 'keep.tmp']);
});

test('a context\'s hash depends on content and the exec bit, not on mtimes or umask bits', () => {
  const dir = join(work, 'hash');
  write(dir, { Dockerfile: 'FROM scratch\nCOPY . /\n', 'a.txt': 'one\n', 'bin/run': '#!/bin/sh\n' });
  const hash = () => {
    const r = scanContext(dir, 'Dockerfile');
    if (!r.ok) throw new Error(r.message);
    return r.value.hash;
  };
  const first = hash();
  utimesSync(join(dir, 'a.txt'), new Date(2001, 1, 1), new Date(2001, 1, 1));
  chmodSync(join(dir, 'a.txt'), 0o664);
  assert.is(hash(), first, 'mtime and group-write do not count');
  chmodSync(join(dir, 'bin/run'), 0o755);
  const exec = hash();
  assert.is.not(exec, first, 'the exec bit counts');
  writeFileSync(join(dir, 'a.txt'), 'two\n');
  assert.is.not(hash(), exec, 'content counts');
});

test('the images a Dockerfile starts from: ARGs substituted, stages and scratch left out', () => {
  const text = 'ARG BASE=lab/busybox\nARG TAG\nFROM ${BASE}:${TAG:-1} AS build\nRUN true\nFROM build\nCOPY --from=tools/x:2 /x /x\nFROM scratch\nCOPY --from=build /a /a\n';
  assert.equal(dockerfileBases(text, {}), ['lab/busybox:1', 'tools/x:2']);
  assert.equal(dockerfileBases(text, { BASE: 'other', TAG: '7' }), ['other:7', 'tools/x:2']);
});

// ------------------------------------------------------------------------------------------
// On lab hosts.

test.before(async () => {
  lab = await startLab({ name: 'images', hosts: 2 });
  aptRepo = (parse(readFileSync(lab.inventoryPath, 'utf8')) as { vars: { berth_apt_repo: string } }).vars.berth_apt_repo;
  for (const h of lab.hosts) hosts.push(await connectHost(h));
  gateway = /default via (\S+)/.exec((await onHost(lab.hosts[0], 'ip route show default')).stdout)?.[1] ?? '';
  assert.ok(gateway, 'the lab network has a gateway');
  registryPort = await freePort(gateway);
  // The runtime module writes the registry into daemon.json: dockerd only talks plain HTTP to
  // registries outside 127.0.0.0/8 when told to.
  const base: TaskSpec[] = [
    { module: 'runtime', params: { repo: aptRepo, daemon: { 'insecure-registries': [`${gateway}:${registryPort}`] } } },
    { module: 'package', params: { name: 'busybox-static' } },
    { module: 'command', params: { argv: ['sh', '-c', 'mkdir -p /opt/lab-busybox && cp /bin/busybox /opt/lab-busybox/'], creates: '/opt/lab-busybox/busybox' } },
    { module: 'copy', params: { dest: '/opt/lab-busybox/Dockerfile', content: 'FROM scratch\nCOPY busybox /bin/busybox\nRUN ["/bin/busybox", "--install", "-s", "/bin"]\nCMD ["/bin/sh"]\n' } },
    { module: 'image', params: { name: 'lab/busybox', build: { context: '/opt/lab-busybox', remote_src: true } } },
  ];
  await Promise.all(
    hosts.map(async ({ agent }) => {
      const r = ran(await agent.run(base));
      if (r.result.failed) throw new Error(`base setup failed: ${JSON.stringify(r.tasks)}`);
    }),
  );
});

test.after(async () => {
  for (const h of hosts) {
    h.agent.close();
    h.session.close();
  }
  reg?.stop();
  for (const ref of controllerImages) {
    try {
      execFileSync('docker', ['image', 'rm', '--force', ref], { stdio: 'ignore' });
    } catch {
      // Already gone.
    }
  }
  await lab?.down();
  rmSync(work, { recursive: true, force: true });
});

test('lab/busybox builds on each host from a context on the host (remote_src); a second run does nothing', async () => {
  for (const { host, agent } of hosts) {
    assert.match(await imageId(host, 'lab/busybox'), /^sha256:/);
    assert.is((await onHost(host, 'docker run --rm lab/busybox echo from-busybox')).stdout, 'from-busybox');
    const again = ran(await agent.run([{ module: 'image', params: { name: 'lab/busybox', build: { context: '/opt/lab-busybox', remote_src: true } } }]));
    assert.equal([again.result.ok, again.result.changed], [1, 0], JSON.stringify(again.tasks));
  }
});

const app = join(work, 'app');
const appTask = (extra: Record<string, unknown> = {}): TaskSpec[] => [
  { module: 'image', params: { name: 'app', build: { context: app, args: { VERSION: '1.0' }, labels: { team: 'berth' } }, ...extra } },
];
/** The content tag the last run reported for app. */
const builtTag = (out: { tasks: Array<{ changes: Array<{ summary: string }> }> }) => /as (berth\/app:[0-9a-f]{12})/.exec(out.tasks[0].changes[0]?.summary ?? '')?.[1] ?? '';
let firstTag = '';

test('builds on the host from a context on the controller, tagged by content hash, .dockerignore honoured', async () => {
  write(app, {
    Dockerfile: 'FROM lab/busybox\nARG VERSION=dev\nENV APP_VERSION=$VERSION\nCOPY www/ /www/\nCMD ["cat", "/www/index.html"]\n',
    '.dockerignore': 'secret.env\n',
    'www/index.html': 'hello v1\n',
    'secret.env': 'TOKEN=do-not-ship\n',
  });
  const { host, agent } = hosts[0];
  const served = agent.blobs.served;
  const r = ran(await agent.run(appTask()));
  assert.equal([r.result.changed, r.result.failed], [1, 0], JSON.stringify(r.tasks));
  firstTag = builtTag(r);
  assert.match(firstTag, /^berth\/app:[0-9a-f]{12}$/);
  assert.ok(r.output.some((l) => /Step \d+\/\d+ : COPY www\/ \/www\//.test(l)), 'build output streamed');
  assert.ok(agent.blobs.served - served > 0, 'the context was sent');
  assert.ok(agent.blobs.served - served < 1000, 'only the context (a few small files)');
  const id = await imageId(host, firstTag);
  assert.match(id, /^sha256:/);
  assert.is(await imageId(host, 'app'), id, 'also tagged with its name');
  assert.is((await onHost(host, `docker image inspect --format '{{index .Config.Labels "berth.image"}} {{index .Config.Labels "team"}}' ${firstTag}`)).stdout, 'app berth');
  assert.is((await onHost(host, `docker run --rm ${firstTag}`)).stdout, 'hello v1');
  assert.is((await onHost(host, `docker run --rm ${firstTag} sh -c 'echo $APP_VERSION; ls /www; test -e /secret.env && echo leaked || true'`)).stdout, '1.0\nindex.html');
});

test('an unchanged context builds nothing and fetches nothing', async () => {
  const { host, agent } = hosts[0];
  const before = await imageId(host, firstTag);
  const served = agent.blobs.served;
  const r = ran(await agent.run(appTask()));
  assert.equal([r.result.ok, r.result.changed], [1, 0], JSON.stringify(r.tasks));
  assert.is(agent.blobs.served, served, 'no byte of the context was sent');
  assert.is(await imageId(host, firstTag), before);
  assert.equal(r.output, [], 'no build ran');
});

test('a changed file rebuilds under a new tag, and only that file is sent', async () => {
  const { host, agent } = hosts[0];
  const page = 'hello v2, a little longer\n';
  writeFileSync(join(app, 'www/index.html'), page);
  const served = agent.blobs.served;
  const r = ran(await agent.run(appTask()));
  assert.equal([r.result.changed, r.result.failed], [1, 0], JSON.stringify(r.tasks));
  const tag = builtTag(r);
  assert.ok(tag && tag !== firstTag, `a new tag: ${tag}`);
  assert.is(agent.blobs.served - served, Buffer.byteLength(page), 'only the changed file went over the wire');
  assert.is((await onHost(host, `docker run --rm ${tag}`)).stdout, 'hello v2, a little longer');
  assert.match(await imageId(host, firstTag), /^sha256:/, 'the previous build is kept');
  assert.is(await imageId(host, 'app'), await imageId(host, tag), 'the name follows the new build');
});

test('a new base image (lab/busybox rebuilt) means a new tag for its users even with the same context', async () => {
  const { host, agent } = hosts[0];
  const before = ran(await agent.run(appTask(), { check: true }));
  assert.is(before.result.changed, 0);
  // Rebuild the base with one more file; the app's context is untouched.
  const rebased = ran(await agent.run([
    { module: 'copy', params: { dest: '/opt/lab-busybox/motd', content: 'rebased\n' } },
    { module: 'copy', params: { dest: '/opt/lab-busybox/Dockerfile', content: 'FROM scratch\nCOPY busybox /bin/busybox\nRUN ["/bin/busybox", "--install", "-s", "/bin"]\nCOPY motd /etc/motd\nCMD ["/bin/sh"]\n' } },
    { module: 'image', params: { name: 'lab/busybox', build: { context: '/opt/lab-busybox', remote_src: true } } },
  ]));
  assert.is(rebased.result.failed, 0, JSON.stringify(rebased.tasks));
  const r = ran(await agent.run(appTask()));
  assert.is(r.result.changed, 1, 'the app is rebuilt on the new base');
  assert.is((await onHost(host, `docker run --rm ${builtTag(r)} cat /etc/motd`)).stdout, 'rebased');
});

test('retention: with keep 2, older builds go, except one a container uses', async () => {
  const { host, agent } = hosts[0];
  const appImages = async () => (await onHost(host, "docker images --filter label=berth.image=app --format '{{.Repository}}:{{.Tag}}'")).stdout.split('\n').filter((l) => l.startsWith('berth/app:')).sort();
  const before = await appImages();
  assert.ok(before.length >= 3, `three builds so far: ${before.join(' ')}`);
  // A stopped container still pins its image.
  await onHost(host, `docker create --name pinned ${firstTag}`);
  const tags: string[] = [];
  for (const v of ['v3', 'v4']) {
    writeFileSync(join(app, 'www/index.html'), `hello ${v}\n`);
    const r = ran(await agent.run(appTask({ keep: 2 })));
    assert.is(r.result.failed, 0, JSON.stringify(r.tasks));
    tags.push(builtTag(r));
  }
  const after = await appImages();
  assert.equal(after, [...new Set([...tags, firstTag])].sort(), `kept: the two newest and the pinned one (${after.join(' ')})`);
  await onHost(host, 'docker rm pinned');
});

// ------------------------------------------------------------------------------------------
// Registry: Debian's docker-registry on the lab network's gateway, with htpasswd credentials.

const USER = 'berth';
let reg: TestRegistry | undefined;
const password = () => reg!.password;

async function startRegistry(): Promise<void> {
  reg = await startDockerRegistry(gateway, (l) => process.stderr.write(`  [registry] ${l}\n`), registryPort);
}

const auth = () => ({ username: USER, password: password() });
const registryAddr = () => `${gateway}:${registryPort}`;

test('push to a real registry needs the credentials, and never shows them', async () => {
  await startRegistry();
  const { agent } = hosts[0];
  const denied = ran(await agent.run(appTask({ push: { registry: registryAddr(), tag: 'v1' } })));
  assert.is(denied.result.failed, 1);
  assert.match(denied.tasks[0].message ?? '', /push of .*:v1 failed: .*(unauthorized|authentication required|no basic auth)/i);

  const r = ran(await agent.run(appTask({ push: { registry: registryAddr(), tag: 'v1' }, auth: auth() })));
  assert.equal([r.result.changed, r.result.failed], [1, 0], JSON.stringify(r.tasks));
  assert.ok(!JSON.stringify(r).includes(password()), 'the password appears in no event');
  const tags = await fetch(`http://${registryAddr()}/v2/app/tags/list`, { headers: { authorization: reg!.basic } });
  assert.equal(((await tags.json()) as { tags: string[] }).tags, ['v1']);

  const again = ran(await agent.run(appTask({ push: { registry: registryAddr(), tag: 'v1' }, auth: auth() })));
  assert.equal([again.result.ok, again.result.changed], [1, 0], `the registry has this digest: ${JSON.stringify(again.tasks)}`);
});

test('pull from the registry on another host: same image ID, a digest, and nothing to do the second time', async () => {
  const ref = `${registryAddr()}/app:v1`;
  const { host, agent } = hosts[1];
  assert.is(await imageId(host, ref), '');
  const r = ran(await agent.run([{ module: 'image', params: { name: ref, pull: true, auth: auth() } }]));
  assert.equal([r.result.changed, r.result.failed], [1, 0], JSON.stringify(r.tasks));
  assert.is(await imageId(host, ref), await imageId(hosts[0].host, 'app'), 'the image h1 built and pushed');
  assert.match((await onHost(host, `docker image inspect --format '{{join .RepoDigests " "}}' ${ref}`)).stdout, new RegExp(`${registryAddr().replace(/\./g, '\\.')}/app@sha256:[0-9a-f]{64}`));
  const again = ran(await agent.run([{ module: 'image', params: { name: ref, pull: true, auth: auth() } }]));
  assert.equal([again.result.ok, again.result.changed], [1, 0], JSON.stringify(again.tasks));
});

test('berth apply: registry credentials from a secret var are masked in every event', async () => {
  const root = new URL('..', import.meta.url).pathname;
  const book = join(work, 'push.yml');
  writeFileSync(
    book,
    [
      'name: push',
      'secrets: { registry_password: { env: BERTH_TEST_REGISTRY_PASSWORD } }',
      'plays:',
      `  - hosts: ${hosts[0].host.name}`,
      '    tasks:',
      '      - name: push app',
      `        image: { name: app, build: { context: app, args: { VERSION: "1.0" }, labels: { team: berth } }, push: { registry: "${registryAddr()}", tag: "v2" }, auth: { username: ${USER}, password: "{{registry_password}}" } }`,
      '      - name: shows the secret',
      '        command: [echo, "password is {{registry_password}}"]',
      '',
    ].join('\n'),
  );
  let out = '';
  let code = 0;
  try {
    out = (await pexec(process.execPath, [join(root, 'bin/berth.js'), 'apply', book, '-i', lab.inventoryPath, '--json'], { cwd: work, env: { ...process.env, CI: 'true', BERTH_TEST_REGISTRY_PASSWORD: password() } })).stdout;
  } catch (e) {
    const x = e as { code?: number; stdout?: string; stderr?: string };
    code = x.code ?? 1;
    out = `${x.stdout ?? ''}${x.stderr ?? ''}`;
  }
  assert.is(code, 0, out);
  assert.match(out, /push [^"]*\/app:v2/);
  assert.match(out, /password is \*{8}/, 'the secret was used and masked');
  assert.not.match(out, new RegExp(password()));
  const tags = await fetch(`http://${registryAddr()}/v2/app/tags/list`, { headers: { authorization: reg!.basic } });
  assert.equal(((await tags.json()) as { tags: string[] }).tags.sort(), ['v1', 'v2']);
});

// ------------------------------------------------------------------------------------------
// Shipping from the controller's engine over SSH.

function controllerBuild(dir: string, tag: string) {
  execFileSync('docker', ['build', '--quiet', '--tag', tag, dir], { env: { ...process.env, DOCKER_BUILDKIT: '0' }, stdio: ['ignore', 'ignore', 'pipe'] });
  controllerImages.add(tag);
}

/** The berth/<name>:<hash> tags an engine has (the controller's, or a host's over ssh). */
const contentTags = (out: string) => out.split('\n').filter((l) => l.startsWith('berth/')).sort();

test('ship: built once on the controller, a host receives only the layers it lacks', async () => {
  const { host, agent } = hosts[1];
  const name = `shipme-${process.pid}`;
  const base = `berth-test/ship-base:${process.pid}`;
  write(join(work, 'ship-base'), { Dockerfile: 'FROM scratch\nCOPY base.bin /base.bin\n', 'base.bin': randomBytes(3_000_000) });
  controllerBuild(join(work, 'ship-base'), base);
  const top = (v: string) => {
    const dir = join(work, `ship-${v}`);
    write(dir, { Dockerfile: `FROM ${base}\nCOPY top.bin /top.bin\n`, 'top.bin': randomBytes(1_000_000) });
    return dir;
  };
  const task = (dir: string): TaskSpec[] => [{ module: 'image', params: { name, build: { context: dir }, builder: 'controller' } }];
  const controllerTags = () => contentTags(execFileSync('docker', ['images', '--format', '{{.Repository}}:{{.Tag}}', `berth/${name}`], { encoding: 'utf8' }));
  const controllerId = (ref: string) => execFileSync('docker', ['image', 'inspect', '--format', '{{.Id}}', ref], { encoding: 'utf8' }).trim();

  let served = agent.blobs.served;
  const first = ran(await agent.run(task(top('a1'))));
  for (const t of controllerTags()) controllerImages.add(t);
  assert.equal([first.result.changed, first.result.failed], [1, 0], JSON.stringify(first.tasks));
  assert.match(first.tasks[0].changes[0].summary, new RegExp(`load ${name} \\([0-9a-f]{12}\\) from the controller: 2 of 2 layers missing`));
  const sent1 = agent.blobs.served - served;
  assert.ok(sent1 > 4_000_000 && sent1 < 4_100_000, `the whole image: ${sent1} bytes`);
  const [tag1] = controllerTags();
  assert.ok(tag1, 'built on the controller under its content tag');
  assert.equal(contentTags((await onHost(host, `docker images --format '{{.Repository}}:{{.Tag}}' berth/${name}`)).stdout), [tag1], 'loaded on the host under the same tag');
  assert.is(await imageId(host, tag1), controllerId(tag1), 'the same image ID as on the controller');
  assert.is(await imageId(host, name), controllerId(tag1), 'tagged with its name too');

  served = agent.blobs.served;
  const again = ran(await agent.run(task(join(work, 'ship-a1'))));
  assert.equal([again.result.ok, again.result.changed], [1, 0], JSON.stringify(again.tasks));
  assert.is(agent.blobs.served, served, 'nothing sent the second time');

  served = agent.blobs.served;
  const second = ran(await agent.run(task(top('a2'))));
  for (const t of controllerTags()) controllerImages.add(t);
  assert.equal([second.result.changed, second.result.failed], [1, 0], JSON.stringify(second.tasks));
  assert.match(second.tasks[0].changes[0].summary, /1 of 2 layers missing/);
  const sent2 = agent.blobs.served - served;
  assert.ok(sent2 > 1_000_000 && sent2 < 1_100_000, `only the new top layer and the config: ${sent2} bytes`);
  const tag2 = controllerTags().find((t) => t !== tag1)!;
  assert.is(await imageId(host, tag2), controllerId(tag2));
  assert.is((await onHost(host, `docker image inspect --format '{{len .RootFS.Layers}}' ${name}`)).stdout, '2');
  assert.is(await imageId(host, name), controllerId(tag2), 'the name follows the new image');

  // ship: an image that is simply on the controller (no build), to the other host.
  const other = hosts[0];
  served = other.agent.blobs.served;
  const shipped = ran(await other.agent.run([{ module: 'image', params: { name: base, ship: true } }]));
  assert.equal([shipped.result.changed, shipped.result.failed], [1, 0], JSON.stringify(shipped.tasks));
  const sent3 = other.agent.blobs.served - served;
  assert.ok(sent3 > 3_000_000 && sent3 < 3_100_000, `the base image alone: ${sent3} bytes`);
  assert.is(await imageId(other.host, base), controllerId(base));
});

test('ship: a layer that compresses well travels gzipped, and loads as the same image', async () => {
  const { host, agent } = hosts[0];
  const name = `shiptext-${process.pid}`;
  const dir = join(work, 'ship-text');
  write(dir, { Dockerfile: 'FROM scratch\nCOPY words.txt /words.txt\n', 'words.txt': 'berth ships only what a host lacks\n'.repeat(60_000) });
  const served = agent.blobs.served;
  const r = ran(await agent.run([{ module: 'image', params: { name, build: { context: dir }, builder: 'controller' } }]));
  const tags = execFileSync('docker', ['images', '--format', '{{.Repository}}:{{.Tag}}', `berth/${name}`], { encoding: 'utf8' }).trim().split('\n');
  for (const t of tags) controllerImages.add(t);
  assert.equal([r.result.changed, r.result.failed], [1, 0], JSON.stringify(r.tasks));
  const sent = agent.blobs.served - served;
  assert.ok(sent < 200_000, `2.1 MB of text sent as ${sent} bytes`);
  assert.is(await imageId(host, name), execFileSync('docker', ['image', 'inspect', '--format', '{{.Id}}', tags[0]], { encoding: 'utf8' }).trim());
  assert.is((await onHost(host, `docker save ${name} | tar -xO --wildcards '*/layer.tar' | tar -xO words.txt | wc -c`)).stdout, String(35 * 60_000));
});

/** `berth apply --json` of a playbook shipping `dir` to every lab host; its events, parsed. */
async function shipToAll(name: string, dir: string, inventory: string, extra: string[] = []) {
  const root = new URL('..', import.meta.url).pathname;
  const book = join(work, `${name}.yml`);
  writeFileSync(book, ['name: relay', 'plays:', '  - hosts: all', '    tasks:', `      - image: { name: ${name}, build: { context: ${dir} }, builder: controller }`, ''].join('\n'));
  let out = '';
  let code = 0;
  try {
    out = (await pexec(process.execPath, [join(root, 'bin/berth.js'), 'apply', book, '-i', inventory, '--json', ...extra], { cwd: work, env: { ...process.env, CI: 'true' }, maxBuffer: 1 << 26 })).stdout;
  } catch (e) {
    const x = e as { code?: number; stdout?: string; stderr?: string };
    code = x.code ?? 1;
    out = `${x.stdout ?? ''}${x.stderr ?? ''}`;
  }
  const tags = execFileSync('docker', ['images', '--format', '{{.Repository}}:{{.Tag}}', `berth/${name}`], { encoding: 'utf8' }).trim().split('\n').filter(Boolean);
  for (const t of tags) controllerImages.add(t);
  const events = out.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as RunEvent);
  const content = events.find((e): e is Extract<RunEvent, { type: 'content' }> => e.type === 'content');
  const warnings = events.filter((e): e is Extract<RunEvent, { type: 'warning' }> => e.type === 'warning');
  return { code, out, content, warnings, id: tags[0] ? execFileSync('docker', ['image', 'inspect', '--format', '{{.Id}}', tags[0]], { encoding: 'utf8' }).trim() : '' };
}

test('relay: a shipped image leaves the controller once; the other host gets it from the first, and nothing stays behind', async () => {
  const name = `relayed-${process.pid}`;
  const dir = join(work, 'relay-a');
  write(dir, { Dockerfile: 'FROM scratch\nCOPY big.bin /big.bin\n', 'big.bin': randomBytes(6_000_000) });
  const r = await shipToAll(name, dir, lab.inventoryPath);
  assert.is(r.code, 0, r.out);
  const content = r.content;
  assert.ok(content, r.out);
  assert.ok(content.fromController > 6_000_000 && content.fromController < 7_000_000, `sent by the controller once: ${content.fromController} bytes`);
  assert.ok(content.hostToHost > 6_000_000 && content.hostToHost < 6_100_000, `the layer went host to host: ${content.hostToHost} bytes`);
  assert.equal(r.warnings, [], r.out);
  for (const { host } of hosts) {
    assert.is(await imageId(host, name), r.id, `${host.name} has the image`);
    assert.is((await onHost(host, 'ls /var/lib/berth/blobs | grep -c "^relay-" || true')).stdout, '0', `${host.name}: the relay's spool went with the agent`);
  }
});

test('relay: a host the others cannot reach is reported, and the controller sends what its relay could not', async () => {
  const name = `unrelayed-${process.pid}`;
  const dir = join(work, 'relay-b');
  write(dir, { Dockerfile: 'FROM scratch\nCOPY big.bin /big.bin\n', 'big.bin': randomBytes(3_000_000) });
  // Every host says it is reached at the lab's gateway, on a port where nothing listens; its relay
  // listens on its own address (berth_relay_bind), where nobody is told to dial.
  const port = await freePort(gateway);
  const inv = parse(readFileSync(lab.inventoryPath, 'utf8')) as { vars: Record<string, unknown>; hosts: Record<string, { vars?: Record<string, unknown> }> };
  inv.vars = { ...inv.vars, berth_relay_address: gateway, berth_relay_port: port };
  for (const h of Object.values(inv.hosts)) h.vars = { ...h.vars, berth_relay_bind: h.vars?.lab_ip };
  // Beside the lab's inventory: its key and known_hosts paths are relative to it.
  const invPath = join(dirname(lab.inventoryPath), 'relay-unreachable.yml');
  writeFileSync(invPath, stringify(inv));
  const r = await shipToAll(name, dir, invPath);
  assert.is(r.code, 0, r.out);
  const warning = r.warnings.find((e) => e.code === 'relay.failed');
  assert.ok(warning, r.out);
  assert.match(warning.message, new RegExp(`could not fetch from (${hosts.map((h) => h.host.name).join('|')})'s relay`));
  assert.ok(r.content, r.out);
  assert.ok(r.content.fromController > 6_000_000, `the controller sent it to both: ${r.content.fromController} bytes`);
  assert.is(r.content.hostToHost, 0, "nothing came through a relay");
  for (const { host } of hosts) assert.is(await imageId(host, name), r.id, `${host.name} has the image`);

  // --no-relay: no relay opened, so nothing to warn about.
  const name2 = `norelay-${process.pid}`;
  const dir2 = join(work, 'relay-c');
  write(dir2, { Dockerfile: 'FROM scratch\nCOPY big.bin /big.bin\n', 'big.bin': randomBytes(2_000_000) });
  const n = await shipToAll(name2, dir2, invPath, ['--no-relay']);
  assert.is(n.code, 0, n.out);
  assert.equal(n.warnings, [], n.out);
  assert.ok(n.content && n.content.fromController > 4_000_000, `to each host from the controller: ${n.content?.fromController} bytes`);
  assert.is(n.content.hostToHost, 0);
});

test('state absent removes the image and berth\'s builds of it; then there is nothing to do', async () => {
  const { host, agent } = hosts[1];
  const name = `shipme-${process.pid}`;
  const builds = async () => (await onHost(host, `docker images -q --filter label=berth.image=${name}`)).stdout;
  assert.ok((await builds()) !== '', 'builds are there');
  const r = ran(await agent.run([{ module: 'image', params: { name, state: 'absent' } }]));
  assert.equal([r.result.changed, r.result.failed], [1, 0], JSON.stringify(r.tasks));
  assert.is(await imageId(host, name), '');
  assert.is(await builds(), '');
  const again = ran(await agent.run([{ module: 'image', params: { name, state: 'absent' } }]));
  assert.equal([again.result.ok, again.result.changed], [1, 0]);
});

test.run();
