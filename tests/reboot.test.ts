// A reboot of a systemd lab host (`docker restart`: systemd shuts down on SIGRTMIN+3 and boots
// again) with a demo-like stack on it: Docker Engine from the `runtime` module, the embedded
// registry, an ambassador, a web service with a restart policy, a health check and register:,
// and a scheduled job. After the reboot no berth command runs: docker.service, the service's
// containers, the watcher (a systemd unit), the host's registry entries and the ambassador come
// back by themselves, and the job keeps its schedule. Everything is checked inside the host
// with `docker exec` (its SSH port may change with the restart).
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { berth, type Run } from './helpers/berth-cli.js';
import { sshLab, startLab, type LabHost, type TestLab } from './helpers/lab.js';

const pexec = promisify(execFile);
let lab: TestLab;
let h1: LabHost;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A command inside the host through the engine (not SSH): works while sshd is not up yet. */
async function inHost(cmd: string): Promise<{ code: number; stdout: string }> {
  try {
    const r = await pexec('docker', ['exec', h1.container, 'sh', '-c', cmd], { timeout: 30_000 });
    return { code: 0, stdout: r.stdout.trim() };
  } catch (e) {
    const x = e as { code?: unknown; stdout?: string };
    return { code: typeof x.code === 'number' ? x.code : 1, stdout: (x.stdout ?? '').trim() };
  }
}

const STACK = `name: reboot
plays:
  - name: base
    hosts: all
    tasks:
      - name: container runtime
        runtime: { repo: "{{berth_apt_repo}}", daemon: { live-restore: true } }
      - name: busybox
        package: { name: busybox-static, repo: "{{berth_apt_repo}}" }
      - name: base image context
        command: { argv: [sh, -c, "mkdir -p /opt/bb && cp /bin/busybox /opt/bb/busybox"], creates: /opt/bb/busybox }
      - name: base image Dockerfile
        copy:
          dest: /opt/bb/Dockerfile
          content: |
            FROM scratch
            COPY busybox /bin/busybox
            RUN ["/bin/busybox", "--install", "-s", "/bin"]
      - name: base image
        image: { name: lab/busybox, build: { context: /opt/bb, remote_src: true } }
      - name: service registry
        registry: { host: "{{inventory_hostname}}" }
      - name: ambassador
        ambassador: { services: { web: { port: 8080 } }, repo: "{{berth_apt_repo}}" }
  - name: services
    hosts: all
    services:
      web:
        image: lab/busybox
        command: [sh, -c, "mkdir -p /www && echo ok > /www/healthz && echo hello from web > /www/index.html && exec httpd -f -p 80 -h /www"]
        ports: ["80"]
        restart: unless-stopped
        health: { http: { port: 80, path: /healthz }, interval: 1s, retries: 3 }
        register: { name: web, port: 80 }
      tick:
        image: lab/busybox
        schedule: "@every 2s"
        command: [sh, -c, "date +%s >> /data/ticks"]
        volumes: ["ticks:/data"]
`;

async function apply(): Promise<Run> {
  const pb = join(lab.dir, 'reboot.yml');
  writeFileSync(pb, STACK);
  return berth(['apply', pb, '-i', lab.inventoryPath, '--json'], { timeoutMs: 10 * 60_000 });
}

const failures = (r: Run) => r.stderr + JSON.stringify(r.events.filter((e) => e.status === 'failed'));
const webAnswers = async () => (await inHost('curl -fsS --max-time 2 http://127.0.0.1:8080/')).stdout === 'hello from web';
const units = async () => (await inHost('systemctl is-active docker.service berth-watcher.service; systemctl is-enabled docker.service berth-watcher.service')).stdout.split('\n');

interface JobRun { startedAt: string; exitCode?: number }
async function tickRuns(): Promise<JobRun[]> {
  const r = await inHost('cat /var/lib/berth/schedule-status/reboot/tick.json');
  return r.code === 0 ? (JSON.parse(r.stdout) as { runs: JobRun[] }).runs : [];
}

test.before(async () => {
  lab = await startLab({ name: 'reboot', hosts: 1, init: 'systemd' });
  [h1] = lab.hosts;
});

test.after(async () => {
  await lab?.down();
});

test('the stack converges on a systemd host: docker.service and the watcher are enabled units, active', async () => {
  assert.is((await sshLab(lab, h1, 'cat /proc/1/comm')).stdout, 'systemd');
  const r = await apply();
  assert.is(r.code, 0, failures(r));
  assert.equal(await units(), ['active', 'active', 'enabled', 'enabled']);
  // berth's own dockerd supervisor is for hosts without an init; here systemd runs the engine.
  assert.is((await inHost('pgrep -f [d]ockerd-supervisor || echo none')).stdout, 'none');
  assert.is((await inHost('test -e /usr/local/lib/berth/dockerd-supervisor')).code, 1, 'no supervisor script');
  assert.match((await inHost('systemctl show docker.service -p MainPID --value | xargs -I{} cat /proc/{}/comm')).stdout, /^dockerd$/);
  assert.ok(await webAnswers(), 'the ambassador answers');
  const again = await apply();
  assert.is(again.code, 0, failures(again));
  const changed = again.events.filter((e) => e.type === 'task-end' && e.status === 'changed').map((e) => `${e.host} ${e.name}`);
  assert.equal(changed, [], 'a second apply changes nothing');
});

test('after `docker restart` of the host, with no berth command, the service answers through the ambassador within 60 s', async () => {
  const restart = Date.now();
  await pexec('docker', ['restart', h1.container], { timeout: 120_000 });
  let answeredAt = 0;
  while (Date.now() - restart < 90_000) {
    if (await webAnswers()) {
      answeredAt = Date.now();
      break;
    }
    await sleep(250);
  }
  const took = (answeredAt - restart) / 1000;
  process.stderr.write(`  [reboot] docker restart to the ambassador answering: ${answeredAt ? `${took.toFixed(1)} s` : 'not within 90 s'}\n`);
  assert.ok(answeredAt > 0, 'the ambassador answered after the reboot');
  assert.ok(took < 60, `answered ${took.toFixed(1)} s after the restart`);

  assert.is((await inHost('cat /proc/1/comm')).stdout, 'systemd');
  assert.equal(await units(), ['active', 'active', 'enabled', 'enabled']);
  // The watcher registered the instance again, at the host port the container has now.
  const port = (await inHost('docker port reboot-web-1 80/tcp | head -1')).stdout.split(':').pop();
  const entry = JSON.parse((await inHost('cat /var/lib/berth/registry/embedded/web/reboot-web-1.json')).stdout) as { instance: { port: number; health: string; registeredAt: string } };
  assert.is(String(entry.instance.port), port);
  assert.is(entry.instance.health, 'passing');
  assert.ok(Date.parse(entry.instance.registeredAt) >= restart, `registered again after the reboot: ${entry.instance.registeredAt}`);
  assert.is((await inHost('docker inspect -f "{{.State.Running}}" berth-ambassador')).stdout, 'true');
});

test('the scheduled job keeps its schedule after the reboot', async () => {
  const since = Date.now();
  const until = since + 30_000;
  let after: JobRun[] = [];
  while (Date.now() < until) {
    after = (await tickRuns()).filter((r) => Date.parse(r.startedAt) >= since && r.exitCode === 0);
    if (after.length >= 2) break;
    await sleep(500);
  }
  assert.ok(after.length >= 2, `two runs of tick since the reboot, every 2 s: ${JSON.stringify(after)}`);
});

test.run();
