// Services that pull their images from a real registry (Debian's docker-registry with htpasswd
// credentials, on the lab network's gateway), seeded with images built on a lab host: Compose's
// pull_policy (missing pulls once, always re-checks, never fails naming itself), the playbook's
// `registries:` login from a secret, one digest per tag per run (a tag pushed again between two
// hosts' batches still leaves both on the same image), the digest in the release, and the
// registry's own answer ("unauthorized", "manifest unknown") in a failure. One lab of 2 hosts.
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { startRegistry, type TestRegistry } from './helpers/docker-registry.js';
import { sshLab, startLab, type LabHost, type TestLab } from './helpers/lab.js';

const root = new URL('..', import.meta.url).pathname;
type Ev = Record<string, any> & { type: string };

let lab: TestLab;
let reg: TestRegistry;
let h1: LabHost;
let h2: LabHost;

const ssh = async (h: LabHost, cmd: string) => {
  const r = await sshLab(lab, h, cmd);
  if (r.code !== 0) throw new Error(`${h.name}: ${cmd}: ${r.stderr}`);
  return r.stdout.trim();
};

interface Run {
  code: number;
  out: string;
  events: Ev[];
  /** The task-end of a task on a host. */
  task(host: LabHost, name: string): Ev;
  /** Summaries of the changes a host's task made. */
  changes(host: LabHost, name: string): string[];
}

/** `berth apply` of a playbook text, --json; `onEvent` sees each event as it comes. */
function apply(name: string, yaml: string, opts: { password?: string; onEvent?: (e: Ev) => void } = {}): Promise<Run> {
  const pb = join(lab.dir, `${name}.yml`);
  writeFileSync(pb, yaml);
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [join(root, 'bin/berth.js'), 'apply', pb, '-i', lab.inventoryPath, '--json'], {
      cwd: lab.dir,
      env: { ...process.env, CI: 'true', BERTH_TEST_REGISTRY_PASSWORD: opts.password ?? reg.password },
    });
    let out = '';
    let partial = '';
    const events: Ev[] = [];
    child.stdout.on('data', (d) => {
      out += d;
      const lines = (partial + d).split('\n');
      partial = lines.pop() ?? '';
      for (const l of lines.filter((x) => x.startsWith('{'))) {
        const e = JSON.parse(l) as Ev;
        events.push(e);
        opts.onEvent?.(e);
      }
    });
    child.stderr.on('data', (d) => (out += d));
    child.on('close', (code) => {
      const task = (h: LabHost, n: string) => events.find((e) => e.type === 'task-end' && e.host === h.name && e.name === n) ?? { type: 'none' };
      resolve({ code: code ?? 1, out, events, task, changes: (h, n) => (task(h, n).changes ?? []).map((c: { summary: string }) => c.summary) });
    });
  });
}

/** A playbook whose one service runs `image` with `pull_policy`, the registry's login from a secret. */
function book(name: string, image: string, policy?: string, extra = ''): string {
  return [
    `name: ${name}`,
    'secrets: { registry_password: { env: BERTH_TEST_REGISTRY_PASSWORD } }',
    `registries: { "${reg.address}": { username: ${reg.user}, password: "{{ registry_password }}" } }`,
    'plays:',
    '  - hosts: all',
    extra,
    '    services:',
    `      app: { image: "${image}", ${policy ? `pull_policy: ${policy}, ` : ''}command: [sleep, "3600"] }`,
    '',
  ].join('\n');
}

/**
 * Builds an image on h1 (lab/busybox with a label, so each generation is its own image), pushes
 * it as `tag`, and drops it from h1 again: the registry has it, no host does. Its id and digest.
 */
async function seed(tag: string, generation: string): Promise<{ ref: string; id: string; digest: string }> {
  const ref = `${reg.address}/app:${tag}`;
  // What h1 had under this tag comes back after the push: seeding must not change what h1 has.
  const had = (await sshLab(lab, h1, `docker image inspect -f '{{.Id}}' ${ref} 2>/dev/null`)).stdout.trim();
  await ssh(h1, `printf 'FROM lab/busybox\\nLABEL generation=${generation}\\n' | DOCKER_BUILDKIT=0 docker build -q -t ${ref} - >/dev/null`);
  await ssh(h1, `echo '${reg.password}' | docker login -u ${reg.user} --password-stdin ${reg.address} >/dev/null 2>&1 && docker push ${ref} >/dev/null; rc=$?; docker logout ${reg.address} >/dev/null; exit $rc`);
  const id = await ssh(h1, `docker image inspect -f '{{.Id}}' ${ref}`);
  const digest = await ssh(h1, `docker image inspect -f '{{index .RepoDigests 0}}' ${ref}`);
  await ssh(h1, `docker rmi ${ref} >/dev/null${had ? ` && docker tag ${had} ${ref}` : ''}`);
  return { ref, id, digest };
}

/** The image id the service's container runs on a host ('' when there is none). */
const running = (h: LabHost, project: string) => sshLab(lab, h, `docker inspect -f '{{.Image}}' ${project}-app-1 2>/dev/null`).then((r) => r.stdout.trim());

test.before(async () => {
  lab = await startLab({ name: 'pull', hosts: 2 });
  [h1, h2] = lab.hosts;
  const gateway = (await sshLab(lab, h1, 'ip route show default')).stdout.match(/default via (\S+)/)?.[1];
  if (!gateway) throw new Error('the lab network has no gateway');
  reg = await startRegistry(gateway, (l) => process.stderr.write(`  [registry] ${l}\n`));
  // dockerd speaks plain HTTP only to registries it is told about (127.0.0.0/8 aside).
  const engine = await apply(
    'engine',
    `name: engine
plays:
  - hosts: all
    tasks:
      - runtime: { repo: "{{berth_apt_repo}}", daemon: { insecure-registries: ["${reg.address}"] } }
      - package: { name: busybox-static, repo: "{{berth_apt_repo}}", update_cache: true, cache_valid_time: 1h }
      - shell:
          cmd: >-
            mkdir -p /tmp/bb && cp /bin/busybox /tmp/bb/ &&
            printf 'FROM scratch\\nCOPY busybox /bin/busybox\\nRUN ["/bin/busybox","--install","-s","/bin"]\\n' > /tmp/bb/Dockerfile &&
            DOCKER_BUILDKIT=0 docker build -q -t lab/busybox /tmp/bb
`,
  );
  if (engine.code !== 0) {
    process.stderr.write(`preparing the engine failed (exit ${engine.code}): ${engine.out}\n`);
    throw new Error(`preparing the engine failed (exit ${engine.code})`);
  }
});

test.after(async () => {
  reg?.stop();
  await lab?.down();
});

test('pull_policy missing (the default): each host pulls once, a second apply pulls nothing, and the release shows the digest', async () => {
  const v1 = await seed('v1', 'a');
  const first = await apply('missing', book('pulls', v1.ref));
  assert.is(first.code, 0, first.out);
  for (const h of [h1, h2]) {
    assert.ok(first.changes(h, 'service app').some((c) => c.startsWith(`pull ${v1.ref} (sha256:`)), `${h.name} pulled: ${first.changes(h, 'service app')}`);
    assert.is(await running(h, 'pulls'), v1.id);
  }
  assert.not.match(first.out, new RegExp(reg.password), 'the password is masked');

  const again = await apply('missing', book('pulls', v1.ref));
  assert.is(again.code, 0, again.out);
  for (const h of [h1, h2]) assert.equal([again.task(h, 'service app').status, again.changes(h, 'service app')], ['ok', []]);

  const releases = await new Promise<string>((resolve) => {
    const c = spawn(process.execPath, [join(root, 'bin/berth.js'), 'releases', 'app', '-p', join(lab.dir, 'missing.yml'), '-i', lab.inventoryPath], { env: { ...process.env, CI: 'true' } });
    let out = '';
    c.stdout.on('data', (d) => (out += d));
    c.stderr.on('data', (d) => (out += d));
    c.on('close', () => resolve(out));
  });
  const sha = v1.digest.slice(v1.digest.indexOf('@') + 1);
  assert.is(releases.split('\n').filter((l) => l.includes(`${v1.ref} ${sha}`)).length, 2, releases);
});

test('pull_policy always re-checks the registry: a tag pushed again is pulled, where missing keeps what the host has', async () => {
  const before = await running(h1, 'pulls');
  const moved = await seed('v1', 'b');
  assert.is.not(moved.id, before);
  const missing = await apply('missing', book('pulls', moved.ref));
  assert.is(missing.code, 0, missing.out);
  for (const h of [h1, h2]) assert.is(await running(h, 'pulls'), before, 'missing: the host has v1, nothing is pulled');

  const always = await apply('always', book('pulls', moved.ref, 'always'));
  assert.is(always.code, 0, always.out);
  for (const h of [h1, h2]) {
    assert.ok(always.changes(h, 'service app').some((c) => c.startsWith(`pull ${moved.ref}`)), `${h.name}: ${always.changes(h, 'service app')}`);
    assert.is(await running(h, 'pulls'), moved.id);
  }
  const still = await apply('always', book('pulls', moved.ref, 'always'));
  assert.is(still.code, 0, still.out);
  for (const h of [h1, h2]) assert.equal(still.changes(h, 'service app'), [], 'the registry has what the host has');
});

test('pull_policy never: an image the host lacks fails the service, naming the policy', async () => {
  const r = await apply('never', book('pulls-never', `${reg.address}/app:v1-never`, 'never'));
  assert.is(r.code, 1, r.out);
  for (const h of [h1, h2]) assert.match(r.task(h, 'service app').message ?? '', new RegExp(`image ${reg.address.replace(/\./g, '\\.')}/app:v1-never is not on this host, and its pull_policy is never`));
});

test('one digest per run: a tag pushed again between two hosts\' batches still gives both hosts the same image', async () => {
  const first = await seed('v2', 'c');
  let moved: Promise<{ id: string; digest: string }> | undefined;
  // h2's batch waits until the tag has moved (the test touches /tmp/go on h2 once it has).
  const gate = `    rollout: { serial: 1 }\n    tasks:\n      - shell: "for i in $(seq 1 900); do [ -e /tmp/go ] && exit 0; sleep 0.2; done; exit 1"\n        when: inventory_hostname == "${h2.name}"`;
  const r = await apply('moving', book('pulls-moving', first.ref, undefined, gate), {
    onEvent: (e) => {
      if (e.type === 'task-end' && e.host === h1.name && e.name === 'service app' && !moved) {
        moved = seed('v2', 'd').then(async (m) => {
          await ssh(h2, 'touch /tmp/go');
          return m;
        });
      }
    },
  });
  assert.ok(moved, 'h1 converged its service before h2');
  const second = await moved!;
  assert.is(r.code, 0, r.out);
  assert.is.not(second.digest, first.digest, 'the tag moved during the run');
  assert.is(await running(h1, 'pulls-moving'), first.id);
  assert.is(await running(h2, 'pulls-moving'), first.id, 'h2 pulled the digest the run resolved, not the moved tag');
  await ssh(h2, 'rm -f /tmp/go');
});

test('a wrong password fails with the registry\'s "unauthorized", and a missing tag with its "manifest unknown"', async () => {
  const v3 = await seed('v3', 'e');
  const wrong = 'wrong-password-42';
  const denied = await apply('denied', book('pulls-denied', v3.ref), { password: wrong });
  assert.is(denied.code, 1, denied.out);
  const message = denied.task(h1, 'service app').message ?? '';
  assert.match(message, `cannot pull ${v3.ref}: the registry ${reg.address} answered "unauthorized: authentication required"`, message);
  assert.match(message, `hint: ${reg.address} refused user ${reg.user}`, message);
  assert.not.match(denied.out, new RegExp(wrong), 'the wrong password is masked too');

  const unknown = await apply('unknown', book('pulls-unknown', `${reg.address}/app:nope`));
  assert.is(unknown.code, 1, unknown.out);
  const m2 = unknown.task(h2, 'service app').message ?? '';
  assert.match(m2, `the registry ${reg.address} answered "manifest unknown`, m2);
  assert.match(m2, `${reg.address} has no app:nope`, m2);
});

test.run();
