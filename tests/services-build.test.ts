// A service's `build:` converged on a real lab host with no image task before it: the context
// goes to the host as content hashes, the content-hash tag decides whether to build, and the
// container runs the built image by id. Everything checked with the engine's own inspect over ssh.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { LabHost } from './helpers/lab.js';
import { servicesLab, type ServicesLab } from './services-lab.js';

let sl: ServicesLab;
let h1: LabHost;

const playbook = `name: built
plays:
  - hosts: all
    services:
      app:
        build: { context: app, args: { GREETING: "{{greeting}}" } }
        init: true
        command: [sleep, "3600"]
    vars: { greeting: hello }
`;

function writeContext(message: string): void {
  const dir = join(sl.lab.dir, 'app');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'Dockerfile'), 'FROM lab/busybox\nARG GREETING\nCOPY message.txt /message.txt\nRUN echo "$GREETING" > /greeting.txt\n');
  writeFileSync(join(dir, 'message.txt'), `${message}\n`);
  writeFileSync(join(dir, '.dockerignore'), 'ignored.txt\n');
}

const failures = (r: Awaited<ReturnType<ServicesLab['apply']>>) => r.stderr + JSON.stringify(r.events.filter((e) => e.status === 'failed'));
const imageIds = async () => (await sl.ssh(h1, 'docker images -q --no-trunc berth/built-app | sort -u')).stdout.split('\n').filter(Boolean);
const sh = async (cmd: string) => (await sl.ssh(h1, cmd)).stdout;

test.before(async () => {
  sl = await servicesLab('services-build', 1);
  h1 = sl.hosts[0];
});

test.after(async () => {
  await sl?.down();
});

test('a service with build: and no image task builds its image on the host and runs it by id', async () => {
  writeContext('first');
  const r = await sl.apply('built', playbook);
  assert.is(r.code, 0, failures(r));
  const changes = r.changes('h1', 'service app');
  assert.match(changes[0], /^build built-app as berth\/built-app:[0-9a-f]{12} from app \(\d+ files?, .*\) \[no image with this content tag on the host\]$/);
  assert.equal(changes.slice(1), ['tag the new image as built-app [new image]', 'create app.1 [missing]']);
  const lines = r.events.filter((e) => e.type === 'output' && e.host === 'h1').map((e) => String(e.line));
  assert.ok(lines.some((l) => /^Step 1\/\d+ : FROM lab\/busybox$/.test(l)), `the build output is streamed: ${JSON.stringify(lines)}`);

  const [built] = await imageIds();
  assert.match(built, /^sha256:[0-9a-f]{64}$/);
  const app = await sl.inspect(h1, 'built-app-1');
  assert.is(app.Image, built, 'the container runs the built image');
  assert.is(app.Config.Image, built, 'created by id, not by a tag');
  assert.is(app.Config.Labels['berth.image'], built);
  assert.is(await sh('docker image inspect built-app --format {{.Id}}'), built, 'tagged with the service\'s image name, as Compose does');
  const tag = / as (berth\/built-app:[0-9a-f]{12}) /.exec(changes[0])![1];
  assert.is(await sh(`docker image inspect ${tag} --format {{.Id}}`), built, 'the content-hash tag names the build');
  assert.is(await sh(`docker image inspect ${tag} --format '{{index .Config.Labels "berth.image"}}'`), 'built-app', 'retention finds it by its label');
  assert.is(await sh('docker exec built-app-1 cat /message.txt /greeting.txt'), 'first\nhello', 'the context and the build args');
  assert.is(app.State.Status, 'running');
});

test('a second apply builds nothing and recreates nothing', async () => {
  const before = await sl.inspect(h1, 'built-app-1');
  // A file .dockerignore leaves out is not part of the context: changing it changes nothing.
  writeFileSync(join(sl.lab.dir, 'app', 'ignored.txt'), 'not sent\n');
  const r = await sl.apply('built', playbook);
  assert.is(r.code, 0, failures(r));
  assert.equal(r.changes('h1', 'service app'), []);
  assert.is(r.tasks('h1')['service app'].status, 'ok');
  assert.not.ok(r.events.some((e) => e.type === 'output' && /Step \d+\/\d+/.test(e.line)), 'no build ran');
  assert.is((await sl.inspect(h1, 'built-app-1')).Id, before.Id);
  assert.is((await imageIds()).length, 1);
});

test('check mode shows the build a changed context needs, with its cause, and changes nothing', async () => {
  const before = await sl.inspect(h1, 'built-app-1');
  const images = await imageIds();
  writeContext('second');
  const r = await sl.apply('built', playbook, ['--check']);
  assert.is(r.code, 0, failures(r));
  const changes = r.changes('h1', 'service app');
  assert.match(changes[0], /^build built-app as berth\/built-app:[0-9a-f]{12} from app .*\[no image with this content tag on the host\]$/);
  assert.ok(changes.includes('tag the new image as built-app [new image]'), changes.join('\n'));
  assert.ok(changes.some((c) => /^recreate app\.1 \[/.test(c)), changes.join('\n'));
  assert.is((await sl.inspect(h1, 'built-app-1')).Id, before.Id, 'nothing recreated');
  assert.equal(await imageIds(), images, 'nothing built');
});

test('a changed file in the context rebuilds and recreates; the old build is kept (retention)', async () => {
  const before = await sl.inspect(h1, 'built-app-1');
  const r = await sl.apply('built', playbook);
  assert.is(r.code, 0, failures(r));
  const changes = r.changes('h1', 'service app');
  assert.match(changes[0], /^build built-app as berth\/built-app:[0-9a-f]{12} /);
  assert.ok(changes.some((c) => /^recreate app\.1 \[/.test(c)), changes.join('\n'));
  const app = await sl.inspect(h1, 'built-app-1');
  assert.is.not(app.Id, before.Id, 'a new container');
  assert.is.not(app.Image, before.Image, 'from a new image');
  assert.is(app.Config.Image, app.Image);
  assert.is(await sh('docker image inspect built-app --format {{.Id}}'), app.Image, 'the name moved to the new build');
  assert.is(await sh('docker exec built-app-1 cat /message.txt'), 'second');
  assert.equal((await imageIds()).sort(), [before.Image, app.Image].sort(), 'both builds kept (keep 5)');

  const again = await sl.apply('built', playbook);
  assert.is(again.code, 0, failures(again));
  assert.equal(again.changes('h1', 'service app'), []);
  assert.is((await sl.inspect(h1, 'built-app-1')).Id, app.Id);
});

test('a Compose file\'s build context is relative to the Compose file; image: that berth did not build is used as it is', async () => {
  const dir = join(sl.lab.dir, 'stack');
  mkdirSync(join(dir, 'api'), { recursive: true });
  writeFileSync(join(dir, 'api', 'Dockerfile'), 'FROM lab/busybox\nRUN echo api > /who\n');
  mkdirSync(join(dir, 'busy'), { recursive: true });
  // FROM scratch alone builds nothing: were it built, the run would fail.
  writeFileSync(join(dir, 'busy', 'Dockerfile'), 'FROM scratch\n');
  writeFileSync(
    join(dir, 'compose.yml'),
    'services:\n  api:\n    build: ./api\n    command: [sleep, "3600"]\n    init: true\n  busy:\n    build: { context: busy }\n    image: lab/busybox\n    command: [sleep, "3600"]\n    init: true\n',
  );
  const r = await sl.apply('composed', 'name: composed\nplays:\n  - hosts: all\n    compose: stack/compose.yml\n');
  assert.is(r.code, 0, failures(r));
  assert.match(r.changes('h1', 'service api')[0], /^build composed-api as berth\/composed-api:[0-9a-f]{12} from .*stack\/api /);
  assert.equal(r.changes('h1', 'service busy'), ['create busy.1 [missing]']);
  assert.is(await sh('docker exec composed-api-1 cat /who'), 'api');
  assert.is((await sl.inspect(h1, 'composed-busy-1')).Image, await sh('docker image inspect lab/busybox --format {{.Id}}'));
});

test.run();
