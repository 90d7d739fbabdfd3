// A Compose file as a play's services (`compose:`), and a task notifying a service, on a real
// lab host. Most runs go through the controller's run directly (what `berth apply` calls after
// loading), over real SSH; the interpolation test goes through `berth apply` itself, since the
// Compose file is read by the loader.
import { cpSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parse } from 'yaml';
import { resolveInventory } from '../controller/inventory/resolve.js';
import { applyPlaybook } from '../controller/run/apply.js';
import type { RunEvent } from '../controller/run/events.js';
import type { PlaybookShape } from '../controller/run/playbook-shape.js';
import { createSshPool, resolveTarget } from '../controller/ssh/index.js';
import type { LabHost } from './helpers/lab.js';
import { servicesLab, type ServicesLab } from './services-lab.js';

let sl: ServicesLab;
let h1: LabHost;

async function apply(name: string, yaml: string): Promise<{ code: number; ends: Array<Extract<RunEvent, { type: 'task-end' }>> }> {
  const path = sl.file(`${name}.yml`, yaml);
  const events: RunEvent[] = [];
  // One pool per run, as `berth apply` has: a run closes its sessions when it ends.
  const pool = createSshPool();
  const inventory = resolveInventory(parse(readFileSync(sl.lab.inventoryPath, 'utf8')), sl.lab.inventoryPath);
  const code = await applyPlaybook({
    playbookPath: path,
    playbook: parse(yaml) as PlaybookShape,
    where: (p) => `${name}.yml:${p.join('.')}`,
    inventory,
    extraVars: {},
    check: false,
    diff: false,
    forks: 5,
    sink: (e) => events.push(e),
    signal: new AbortController().signal,
    connect: async (host) => {
      const t = resolveTarget(host.connection);
      return t.ok ? pool.get(t.value) : t;
    },
  });
  pool.closeAll();
  const failed = events.filter((e) => e.type === 'host-failed' || e.type === 'host-unreachable' || (e.type === 'task-end' && e.status === 'failed'));
  if (code !== 0) process.stderr.write(JSON.stringify(failed, null, 2) + '\n');
  return { code, ends: events.filter((e): e is Extract<RunEvent, { type: 'task-end' }> => e.type === 'task-end') };
}

const changes = (ends: Array<Extract<RunEvent, { type: 'task-end' }>>, name: string) => (ends.find((e) => e.name === name)?.changes ?? []).map((c) => `${c.summary} [${c.cause}]`);

test.before(async () => {
  sl = await servicesLab('services-compose', 1);
  h1 = sl.hosts[0];
  cpSync(new URL('./fixtures/compose/', import.meta.url).pathname, join(sl.lab.dir, 'compose'), { recursive: true });
});

test.after(async () => {
  await sl?.down();
});

test('compose: a Compose file with build, links, networks, ports and volumes converges', async () => {
  const yaml = 'name: composed\nplays:\n  - hosts: all\n    compose: compose/stack.yml\n';
  const r = await apply('composed', yaml);
  assert.is(r.code, 0);
  assert.equal(changes(r.ends, 'service web'), ['create web.1 [missing]']);
  const web = await sl.inspect(h1, 'composed-web-1');
  assert.equal(Object.keys(web.NetworkSettings.Networks).sort(), ['composed_back', 'composed_front']);
  assert.equal(web.HostConfig.PortBindings, { '80/tcp': [{ HostIp: '', HostPort: '8080' }], '90/udp': [{ HostIp: '127.0.0.1', HostPort: '9090' }] });
  assert.equal(web.Config.Cmd, ['httpd', '-f', '-p', '80', '-h', '/www']);
  assert.ok(web.Mounts.some((m: any) => m.Name === 'composed_webdata' && m.Destination === '/www'));
  const back = await sl.ssh(h1, 'docker network inspect composed_back --format "{{.Internal}}"');
  assert.is(back.stdout, 'true');
  const cache = await sl.inspect(h1, 'composed-cache-1');
  assert.ok(cache.NetworkSettings.Networks.composed_back.Aliases.includes('redis'), 'the link alias');
  assert.is((await sl.ssh(h1, 'docker exec composed-web-1 ping -c1 -W2 redis >/dev/null && echo reached')).stdout, 'reached');
  const again = await apply('composed', yaml);
  assert.equal(again.ends.filter((e) => e.status !== 'ok').map((e) => e.name), [], 'converged: nothing to do the second time');
});

test('compose through berth apply: variables from the environment, the play and .env reach the container; {{ }} stays text; name: names the containers', async () => {
  const dir = join(sl.lab.dir, 'interp');
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    join(dir, 'compose.yaml'),
    [
      'name: interp',
      'services:',
      '  app:',
      '    image: lab/busybox',
      '    init: true',
      '    command: ["sh", "-c", "echo $${GREETING} > /greeting; sleep 3600"]',
      '    environment:',
      '      GREETING: "${GREETING:-unset}"',
      '      LITERAL: "{{ inventory_hostname }}"',
      '      FROM_DOTENV: ${ONLY_DOTENV}',
      '    labels:',
      '      tag: "${TAG}"',
      '',
    ].join('\n'),
  );
  writeFileSync(join(dir, '.env'), 'ONLY_DOTENV=from dotenv\nTAG=from-dotenv\n');
  process.env.GREETING = 'from the environment';
  try {
    const r = await sl.apply('interp-site', 'plays:\n  - hosts: all\n    vars: { TAG: from-vars }\n    compose: interp/compose.yaml\n');
    assert.is(r.code, 0, r.stderr + JSON.stringify(r.events.filter((e) => e.type === 'task-end' && e.status === 'failed')));
    const app = await sl.inspect(h1, 'interp-app-1');
    const env = (app.Config.Env as string[]).filter((e) => /^(GREETING|LITERAL|FROM_DOTENV)=/.test(e)).sort();
    assert.equal(env, ['FROM_DOTENV=from dotenv', 'GREETING=from the environment', 'LITERAL={{ inventory_hostname }}']);
    assert.is(app.Config.Labels.tag, 'from-vars', 'the play\'s var beats .env');
    assert.equal(app.Config.Cmd, ['sh', '-c', 'echo ${GREETING} > /greeting; sleep 3600'], '$$ is one literal $');
    const greeting = await sl.ssh(h1, 'for i in $(seq 50); do docker exec interp-app-1 cat /greeting 2>/dev/null && break; sleep 0.1; done');
    assert.is(greeting.stdout, 'from the environment', 'the shell in the container expanded it');
  } finally {
    delete process.env.GREETING;
  }
});

test('notify: a changed config file restarts the service once, after the play\'s tasks', async () => {
  const yaml = (content: string) => `name: notified
plays:
  - hosts: all
    tasks:
      - file: { path: /srv/notified, state: directory }
      - copy: { content: "${content}\\n", dest: /srv/notified/app.conf }
        notify: api
    services:
      api:
        image: lab/busybox
        init: true
        command: [sleep, "3600"]
        volumes: ["/srv/notified:/conf:ro"]
      other:
        image: lab/busybox
        init: true
        command: [sleep, "3600"]
`;
  const first = await apply('notified', yaml('v1'));
  assert.is(first.code, 0);
  assert.equal(changes(first.ends, 'api'), [], 'just created: it read the new file already');
  const started = async (name: string) => (await sl.inspect(h1, name)).State.StartedAt as string;
  const [api0, other0] = [await started('notified-api-1'), await started('notified-other-1')];

  const same = await apply('notified', yaml('v1'));
  assert.equal(same.ends.filter((e) => e.status !== 'ok').map((e) => e.name), []);
  assert.is(await started('notified-api-1'), api0);

  const id = (await sl.inspect(h1, 'notified-api-1')).Id;
  const changed = await apply('notified', yaml('v2'));
  assert.is(changed.code, 0);
  assert.equal(changes(changed.ends, 'api'), ['restart api.1 [notified]']);
  const api = await sl.inspect(h1, 'notified-api-1');
  assert.is(api.Id, id, 'restarted, not recreated');
  assert.ok(api.State.StartedAt > api0);
  assert.is(await started('notified-other-1'), other0, 'a service nobody notified keeps running');
  assert.is((await sl.ssh(h1, 'docker exec notified-api-1 cat /conf/app.conf')).stdout, 'v2');
});

test.run();
