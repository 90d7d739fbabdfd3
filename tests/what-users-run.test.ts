// What users run (issue 18, point 9): the example playbooks not applied elsewhere (sidecars.yml,
// rolling-upgrade.yml; demo.yml is in demo-lab.test.ts, host-prep.yml in host-prep.test.ts)
// applied to a 2-host lab and re-applied with 0 changed, sidecars.yml through its own
// `inventory: {provider: lab}` with no -i; berth ps/logs/exec/run/services as a user runs them
// (bin/berth.js, real argv, exit codes and output); and an inventory `jump:` naming another host,
// proved on h2 by the peer of berth's own ssh connection being h1's lab address.
import { spawn } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parse, stringify } from 'yaml';
import type { LabHost } from './helpers/lab.js';
import { servicesLab, type ServicesLab } from './services-lab.js';

const root = new URL('..', import.meta.url).pathname;
let sl: ServicesLab;
let h1: LabHost;
let h2: LabHost;
let pbDir: string;
let env: NodeJS.ProcessEnv;

type Ev = Record<string, any> & { type: string };
interface Run { code: number | null; stdout: string; stderr: string; events: Ev[] }

/** `node bin/berth.js ARGS` as a user types it, in the copied playbooks folder. */
const berth = (args: string[], timeoutMs = 240_000) =>
  new Promise<Run>((resolve) => {
    const child = spawn(process.execPath, [join(root, 'bin/berth.js'), ...args], { cwd: pbDir, env });
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (code) => {
      clearTimeout(timer);
      const events = stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Ev);
      resolve({ code, stdout, stderr, events });
    });
  });
const recap = (r: Run): Record<string, { changed: number; failed: number }> => r.events.find((e) => e.type === 'recap')?.hosts ?? {};
const changedTasks = (r: Run) => r.events.filter((e) => e.type === 'task-end' && e.status === 'changed').map((e) => `${e.host} ${e.name}`);
const failed = (r: Run) => r.stderr + JSON.stringify(r.events.filter((e) => e.status === 'failed'));

test.before(async () => {
  sl = await servicesLab('what-users-run', 2);
  [h1, h2] = sl.hosts as [LabHost, LabHost];
  // The examples copied as a user keeps them, sidecars.yml's inventory naming this test's lab.
  pbDir = mkdtempSync(join(tmpdir(), 'berth-wur-'));
  cpSync(join(root, 'playbooks'), pbDir, { recursive: true });
  const sidecars = join(pbDir, 'sidecars.yml');
  const text = readFileSync(sidecars, 'utf8');
  assert.match(text, /^inventory: \{ provider: lab, name: sidecars, hosts: 2 \}$/m);
  writeFileSync(sidecars, text.replace(/^inventory: .*$/m, `inventory: { provider: lab, name: ${sl.lab.name}, hosts: 2 }`));
  // The lab provider finds a lab by name under the state dir, as `berth lab up` left it.
  env = { ...process.env, CI: 'true', BERTH_STATE_DIR: dirname(dirname(sl.lab.dir)) };
  delete env.BERTH_INVENTORY;
});
test.after(async () => {
  await sl?.down();
  if (pbDir) rmSync(pbDir, { recursive: true, force: true });
});

test('sidecars.yml: `inventory: {provider: lab}` resolved without -i; the re-apply changes nothing', async () => {
  const first = await berth(['apply', 'sidecars.yml', '--json']);
  assert.is(first.code, 0, failed(first));
  for (const h of sl.hosts) assert.ok(recap(first)[h.name]!.changed > 0, `${h.name}: ${JSON.stringify(recap(first))}`);
  const api = await sl.ssh(h1, 'curl -fsS --max-time 5 http://127.0.0.1:9000/api/status.json');
  assert.is(api.code, 0, api.stderr);
  const second = await berth(['apply', 'sidecars.yml', '--json']);
  assert.is(second.code, 0, failed(second));
  assert.equal(changedTasks(second), [], JSON.stringify(second.events.filter((e) => e.type === 'task-end' && e.status === 'changed')));
  for (const h of sl.hosts) assert.equal([recap(second)[h.name]!.changed, recap(second)[h.name]!.failed], [0, 0], h.name);
});

test('rolling-upgrade.yml (with -i: its lab asks for 5 hosts): converges, and the re-apply changes nothing', async () => {
  const first = await berth(['apply', 'rolling-upgrade.yml', '-i', sl.lab.inventoryPath, '--json']);
  assert.is(first.code, 0, failed(first));
  for (const h of sl.hosts) assert.ok(recap(first)[h.name]!.changed > 0, `${h.name}: ${JSON.stringify(recap(first))}`);
  const second = await berth(['apply', 'rolling-upgrade.yml', '-i', sl.lab.inventoryPath, '--json']);
  assert.is(second.code, 0, failed(second));
  assert.equal(changedTasks(second), []);
  for (const h of sl.hosts) assert.equal([recap(second)[h.name]!.changed, recap(second)[h.name]!.failed], [0, 0], h.name);
});

test('berth ps, logs, exec and services on the deployed api; berth run of the migrate job', async () => {
  const ps = await berth(['ps', 'api', '-p', 'sidecars.yml']);
  assert.is(ps.code, 0, ps.stderr);
  for (const h of ['h1', 'h2']) assert.match(ps.stdout, new RegExp(`^${h}\\s+api\\.1\\b.*running`, 'm'), ps.stdout);
  assert.match(ps.stdout, /^h1\s+api\/shipper\.1\s+running/m, ps.stdout);

  // The api's access log, written by a request, is what its shipper sidecar tails.
  await sl.ssh(h2, 'curl -fsS --max-time 5 http://127.0.0.1:9000/api/status.json >/dev/null');
  const exec = await berth(['exec', 'api', '--host', 'h2', '-p', 'sidecars.yml', '--', 'cat', '/www/api/status.json']);
  assert.is(exec.code, 0, exec.stderr);
  assert.is(exec.stdout, readFileSync(join(root, 'playbooks/apps/api/www/api/status.json'), 'utf8'));

  const logs = await berth(['logs', 'api', '-p', 'sidecars.yml']);
  assert.is(logs.code, 0, logs.stderr);
  // httpd -v logs to its stderr, and berth logs keeps a container's stderr on its own stderr (as docker logs does).
  assert.match(logs.stderr, /^h2 api\.1 \| .*response:200$/m, logs.stderr);

  const services = await berth(['services', 'api', '-p', 'sidecars.yml', '--json']);
  assert.is(services.code, 0, services.stderr);
  const instances = services.stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l));
  assert.equal(instances.map((i) => i.host).sort(), ['h1', 'h2'], services.stdout);

  const run = await berth(['run', 'migrate', '-p', 'rolling-upgrade.yml', '-i', sl.lab.inventoryPath, '--limit', 'h1']);
  assert.is(run.code, 0, run.stderr + run.stdout);
  assert.match(run.stdout, /migrating to 1\.3\.0/);

  const wrong = await berth(['exec', 'no-such-service', '-p', 'sidecars.yml', '--', 'true']);
  assert.is.not(wrong.code, 0, 'a service the playbook does not have is an error');
});

test('an inventory jump: naming h1 takes apply to h2 through h1', async () => {
  const inv = parse(readFileSync(sl.lab.inventoryPath, 'utf8'));
  // h2 as only h1 sees it: its address on the lab network, sshd's own port.
  inv.hosts.h2 = { ...inv.hosts.h2, address: h2.ip, port: 22, jump: 'h1' };
  const jumpInv = join(sl.lab.dir, 'inventory-jump.yml');
  writeFileSync(jumpInv, stringify(inv));
  writeFileSync(join(pbDir, 'peer.yml'), 'name: peer\nplays:\n  - hosts: h2\n    tasks:\n      - shell: "ss -Htn state established \'( sport = :22 )\' | awk \'{print $4}\'"\n        changed_when: false\n');
  const r = await berth(['apply', 'peer.yml', '-i', jumpInv, '--json']);
  assert.is(r.code, 0, failed(r));
  const peers = r.events.filter((e) => e.type === 'output' && e.host === 'h2').map((e) => e.line.replace(/:\d+$/, ''));
  assert.ok(peers.length > 0, r.stdout);
  // Every ssh session into h2 while the task ran came from h1 (berth's own among them).
  assert.equal([...new Set(peers)], [h1.ip], r.stdout);
});

test.run();
