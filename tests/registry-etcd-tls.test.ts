// The etcd registry and the fleet lock against a real etcd (Debian's etcd-server on the lab
// network's gateway) that speaks only TLS, wants a client certificate signed by its CA, and has
// auth enabled (a root user with a password; the client certificate's name is no user, so the
// password is what lets a client in). The certificates are made by the test with openssl and put
// on the host by the playbook itself, as an operator would.
import { readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { Etcd3 } from 'etcd3';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { startEtcd, type TestEtcd } from './helpers/etcd.js';
import { registryLab, type RegistryLab } from './registry-lab.js';

let rl: RegistryLab;
let etcd: TestEtcd;
let client: Etcd3;
const password = `pw-${randomBytes(6).toString('hex')}`;
const log = (line: string) => void process.stderr.write(`  [etcd-tls] ${line}\n`);

test.before(async () => {
  rl = await registryLab('registry-etcd-tls', 1);
  etcd = await startEtcd(rl.gateway, 'berth-tls', log, { tls: true, auth: { username: 'root', password } });
  const tls = etcd.tls!;
  client = new Etcd3({ hosts: etcd.url, credentials: { rootCertificate: readFileSync(tls.ca), certChain: readFileSync(tls.cert), privateKey: readFileSync(tls.key) }, auth: { username: 'root', password } });
  await rl.runWeb(rl.hosts[0], 'web-1', 8081);
});

test.after(async () => {
  client?.close();
  etcd?.stop();
  await rl?.down();
});

/** The playbook puts the certificates on the host, then points the registry at etcd. */
const book = (name: string, registry: string, more = '') => `name: ${name}
plays:
  - hosts: all
    tasks:
      - file: { path: /etc/berth-etcd, state: directory, mode: "0700" }
      - copy: { src: ${etcd.tls!.ca}, dest: /etc/berth-etcd/ca.pem, mode: "0644" }
      - copy: { src: ${etcd.tls!.cert}, dest: /etc/berth-etcd/client.pem, mode: "0644" }
      - copy: { src: ${etcd.tls!.key}, dest: /etc/berth-etcd/client-key.pem, mode: "0600" }
      - registry: { backend: etcd, endpoints: ["${etcd.url}"], ${registry}ttl: 5s, host: "{{inventory_hostname}}" }
${more}`;
const TLS = 'tls: { ca: /etc/berth-etcd/ca.pem, cert: /etc/berth-etcd/client.pem, key: /etc/berth-etcd/client-key.pem }, ';

test('TLS with the client certificate but no user: etcd refuses, and the registry task says so in etcd\'s words', async () => {
  const r = await rl.apply('tls-no-user', book('tls-no-user', TLS));
  const end = r.ends('h1').find((e) => e.module === 'registry');
  assert.ok(end, `no registry task ran (exit ${r.code}): ${r.stderr}`);
  assert.is(end!.status, 'failed');
  assert.match(end!.message, /does not answer: etcd: cannot list berth-probe: .*permission denied/i);
});

test('TLS and a user: the registry task reaches etcd, a healthy instance is registered there, and the settings file is root\'s alone', async () => {
  const r = await rl.apply(
    'tls',
    book('tls', `${TLS}username: root, password: "${password}", `, '      - registration: { container: web-1, name: web, release: r1, health: { http: { port: 80, path: /healthz }, interval: 1s }, deadline: 20s }\n'),
    ['--diff'],
  );
  assert.is(r.code, 0, `${r.stderr}\n${JSON.stringify(r.ends('h1').filter((e) => e.status === 'failed'))}`);
  const kv = await client.get('/berth/services/web/h1/web-1').string();
  assert.ok(kv, 'the instance is a key in etcd');
  assert.equal([JSON.parse(kv!).address, JSON.parse(kv!).port], [rl.hosts[0].ip, 8081]);
  assert.not.ok(r.events.some((e) => JSON.stringify(e).includes(password)), 'the password is in no event (the diff shows it as ********)');
  const modes = (await rl.ssh(rl.hosts[0], 'stat -c "%a %n" /var/lib/berth/registry/config.json /var/lib/berth/registry/instances/*.json /var/lib/berth/registry/status/*.json')).stdout.split('\n');
  assert.ok(modes.length >= 3, modes.join('\n'));
  for (const m of modes) assert.match(m, /^600 /, `${m}: state files with settings and specs are 0600`);
});

test('the fleet lock goes through the same TLS and user: taken in etcd while the run lasts, released after', async () => {
  const run = rl.apply('fleet-tls', 'name: fleet-tls\nplays:\n  - hosts: all\n    tasks:\n      - command: [sleep, "4"]\n');
  let seen: string | null = null;
  const end = Date.now() + 30_000;
  while (!seen && Date.now() < end) {
    seen = await client.get('/berth/locks/fleet-tls').string();
    if (!seen) await new Promise((r) => setTimeout(r, 200));
  }
  const r = await run;
  assert.is(r.code, 0, r.stderr);
  assert.ok(seen, 'the fleet lock was a key in etcd during the run');
  assert.type(JSON.parse(seen!).runId, 'string');
  assert.equal(r.events.filter((e) => e.type === 'warning' && String(e.code).startsWith('lock.')).map((e) => e.code), [], 'no lock.fleet-unavailable: etcd answered');
  assert.is(await client.get('/berth/locks/fleet-tls').string(), null, 'released at the end');
});

test.run();
