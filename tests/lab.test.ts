// The lab: `berth lab up` gives hosts that real OpenSSH reaches with the lab's key and
// known_hosts (as root and as a sudo user), with distinct host keys, the lab apt repository and
// no Docker or Node of their own; `lab up` again changes nothing, resizes when asked; `lab down`
// leaves nothing behind. Real dockerd, real sshd; one lab shared by the whole file.
import { execFile } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parse } from 'yaml';
import { packageRoot } from '../controller/paths.js';
import { labDown, labStatus, labUp } from '../providers/lab/lab.js';
import { startLab, type LabHost, type TestLab } from './helpers/lab.js';

const pexec = promisify(execFile);
let lab: TestLab;
const stateRoot = () => dirname(dirname(lab.dir));

interface Out { code: number; stdout: string; stderr: string }
async function sh(argv: string[], timeout = 120_000): Promise<Out> {
  try {
    const r = await pexec(argv[0]!, argv.slice(1), { timeout, maxBuffer: 16 << 20 });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (e) {
    const x = e as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof x.code === 'number' ? x.code : 1, stdout: x.stdout ?? '', stderr: x.stderr ?? String(e) };
  }
}

const sshOpts = () => ['-o', 'BatchMode=yes', '-o', `UserKnownHostsFile=${lab.knownHostsPath}`, '-o', 'StrictHostKeyChecking=yes', '-o', 'GlobalKnownHostsFile=/dev/null', '-i', lab.keyPath];
const ssh = (h: LabHost, user: string, cmd: string) => sh(['ssh', ...sshOpts(), '-p', String(h.port), `${user}@${h.address}`, cmd]);
const docker = (...args: string[]) => sh(['docker', ...args]);

test.before(async () => {
  lab = await startLab({ name: 'labtest', hosts: 2 });
});

test.after(async () => {
  await lab?.down();
});

test('lab up starts the hosts it was asked for, named h1..hN, on 127.0.0.1 ports', () => {
  assert.equal(lab.hosts.map((h) => h.name), ['h1', 'h2']);
  for (const h of lab.hosts) {
    assert.is(h.address, '127.0.0.1');
    assert.ok(h.port > 0, 'published port');
    assert.match(h.ip, /^\d+\.\d+\.\d+\.\d+$/);
    assert.is(h.container, `berth-${lab.name}-${h.name}`);
  }
});

test('every host is reachable as root through OpenSSH with the lab key and known_hosts', async () => {
  for (const h of lab.hosts) {
    const r = await ssh(h, 'root', 'hostname; id -u');
    assert.is(r.code, 0, r.stderr);
    assert.is(r.stdout, `${h.name}\n0\n`);
  }
});

test('every host has the user berth with passwordless sudo', async () => {
  for (const h of lab.hosts) {
    const r = await ssh(h, 'berth', 'id -un && sudo -n true && sudo -n id -u');
    assert.is(r.code, 0, r.stderr);
    assert.is(r.stdout, 'berth\n0\n');
  }
});

test('a host key that does not match known_hosts is refused', async () => {
  // h1's port with h2's host key lines only: OpenSSH must refuse, which proves the file is used.
  const [h1, h2] = lab.hosts as [LabHost, LabHost];
  const lines = readFileSync(lab.knownHostsPath, 'utf8').split('\n').filter((l) => l.startsWith(`[127.0.0.1]:${h2.port} `));
  const wrong = join(lab.dir, 'wrong_known_hosts');
  const { writeFileSync } = await import('node:fs');
  writeFileSync(wrong, lines.map((l) => l.replace(`[127.0.0.1]:${h2.port}`, `[127.0.0.1]:${h1.port}`)).join('\n') + '\n');
  const r = await sh(['ssh', '-o', 'BatchMode=yes', '-o', `UserKnownHostsFile=${wrong}`, '-o', 'StrictHostKeyChecking=yes', '-o', 'GlobalKnownHostsFile=/dev/null', '-i', lab.keyPath, '-p', String(h1.port), 'root@127.0.0.1', 'true']);
  assert.is.not(r.code, 0);
  assert.match(r.stderr, /HOST IDENTIFICATION HAS CHANGED|Host key verification failed/);
});

test('hosts have distinct SSH host keys', () => {
  const keys = readFileSync(lab.knownHostsPath, 'utf8').split('\n').filter((l) => l.startsWith('[127.0.0.1]:')).map((l) => l.split(' ').slice(1).join(' '));
  assert.is(keys.length, lab.hosts.length);
  assert.is(new Set(keys).size, lab.hosts.length);
});

test('a jump through h1 to h2 on the lab network verifies h2 by its lab IP', async () => {
  const [h1, h2] = lab.hosts as [LabHost, LabHost];
  const jump = ['ssh', ...sshOpts(), '-p', String(h1.port), '-W', '%h:%p', `root@${h1.address}`].join(' ');
  const r = await sh(['ssh', ...sshOpts(), '-o', `ProxyCommand=${jump}`, `root@${h2.ip}`, 'hostname']);
  assert.is(r.code, 0, r.stderr);
  assert.is(r.stdout.trim(), 'h2');
});

test('the key is private and the inventory is in berth inventory format', () => {
  assert.is(statSync(lab.keyPath).mode & 0o777, 0o600);
  const text = readFileSync(lab.inventoryPath, 'utf8');
  const inv = parse(text) as Record<string, any>;
  assert.equal(Object.keys(inv).sort(), ['groups', 'hosts', 'ssh', 'vars']);
  assert.equal(inv.ssh, { user: 'berth', become: true, key: 'id_ed25519', known_hosts: 'known_hosts' });
  assert.ok(existsSync(join(dirname(lab.inventoryPath), inv.ssh.key)));
  for (const h of lab.hosts) {
    assert.equal(inv.hosts[h.name], { address: '127.0.0.1', port: h.port, vars: { lab_ip: h.ip, lab_name: lab.name } });
  }
  assert.equal(inv.groups, { lab: { hosts: ['h1', 'h2'] } });
  assert.equal(inv.vars, { berth_apt_repo: 'deb [trusted=yes] file:/srv/berth-apt ./' });
  const state = JSON.parse(readFileSync(join(lab.dir, 'lab.json'), 'utf8'));
  assert.is(state.name, lab.name);
  assert.is(state.hosts.length, 2);
});

test('hosts have neither Node nor Docker: the agent brings one and installs the other', async () => {
  const r = await ssh(lab.hosts[0]!, 'root', 'command -v node nodejs docker dockerd; echo end');
  assert.is(r.code, 0, r.stderr);
  assert.is(r.stdout, 'end\n');
});

test('the lab apt repository is mounted and installs packages offline', async () => {
  const h = lab.hosts[1]!;
  const inv = parse(readFileSync(lab.inventoryPath, 'utf8')) as { vars: { berth_apt_repo: string } };
  const only = '-o Dir::Etc::SourceList=/etc/apt/sources.list.d/berth.list -o Dir::Etc::SourceParts=-';
  const script = [
    'set -e',
    'test -s /srv/berth-apt/Packages',
    `echo '${inv.vars.berth_apt_repo}' > /etc/apt/sources.list.d/berth.list`,
    `apt-get ${only} update -q`,
    `DEBIAN_FRONTEND=noninteractive apt-get ${only} install -y -q --no-install-recommends busybox-static`,
    'busybox echo installed',
    'apt-cache ' + only + ' policy docker.io | grep -q "file:/srv/berth-apt"',
  ].join('\n');
  const r = await ssh(h, 'root', script);
  assert.is(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /installed/);
  assert.match(await docker('exec', h.container, 'touch', '/srv/berth-apt/x').then((x) => x.stderr), /Read-only file system/);
});

test('lab up again with the same count changes nothing', async () => {
  const before = (await docker('ps', '-q', '--no-trunc', '--filter', `label=berth.lab=${lab.name}`)).stdout.split('\n').sort();
  const r = await labUp({ name: lab.name, hosts: 2, stateRoot: stateRoot() });
  assert.ok(r.ok, !r.ok ? r.error.message : '');
  if (!r.ok) return;
  assert.equal(r.value.added, []);
  assert.equal(r.value.removed, []);
  assert.equal(r.value.state.hosts.map((h) => h.port), lab.hosts.map((h) => h.port));
  const after = (await docker('ps', '-q', '--no-trunc', '--filter', `label=berth.lab=${lab.name}`)).stdout.split('\n').sort();
  assert.equal(after, before);
});

test('lab up with another count adds and removes hosts', async () => {
  const up = await labUp({ name: lab.name, hosts: 3, stateRoot: stateRoot() });
  assert.ok(up.ok, !up.ok ? up.error.message : '');
  if (!up.ok) return;
  assert.equal(up.value.added, ['h3']);
  const h3 = up.value.state.hosts.find((h) => h.name === 'h3')!;
  const r = await ssh({ ...h3 }, 'root', 'hostname');
  assert.is(r.stdout.trim(), 'h3', r.stderr);
  const inv = parse(readFileSync(lab.inventoryPath, 'utf8')) as { groups: { lab: { hosts: string[] } } };
  assert.equal(inv.groups.lab.hosts, ['h1', 'h2', 'h3']);

  const down = await labUp({ name: lab.name, hosts: 2, stateRoot: stateRoot() });
  assert.ok(down.ok);
  if (!down.ok) return;
  assert.equal(down.value.removed, ['h3']);
  assert.is((await docker('ps', '-aq', '--filter', `name=^berth-${lab.name}-h3$`)).stdout.trim(), '');
});

test('lab status reports every host running with its ports', async () => {
  const s = await labStatus({ name: lab.name, stateRoot: stateRoot() });
  assert.ok(s.ok);
  if (!s.ok) return;
  assert.is(s.value.exists, true);
  assert.equal(s.value.hosts.map((h) => [h.name, h.state, h.port]), lab.hosts.map((h) => [h.name, 'running', h.port]));
});

test('lab up --init systemd replaces the hosts with ones that boot systemd, and leaves the machine\'s sysctls alone', async () => {
  const machine = () => ['fs/protected_regular', 'fs/protected_fifos', 'fs/protected_symlinks', 'fs/protected_hardlinks'].map((k) => readFileSync(`/proc/sys/${k}`, 'utf8').trim());
  const before = machine();
  const up = await labUp({ name: lab.name, hosts: 2, init: 'systemd', stateRoot: stateRoot() });
  assert.ok(up.ok, !up.ok ? up.error.message : '');
  if (!up.ok) return;
  assert.equal(up.value.added, ['h1', 'h2'], 'the tini hosts were replaced');
  assert.is(up.value.state.init, 'systemd');
  for (const h of up.value.state.hosts) {
    const r = await ssh({ ...h }, 'berth', 'cat /proc/1/comm; systemctl is-system-running --wait; systemctl --failed --no-legend | wc -l; systemctl is-enabled systemd-sysctl.service; sudo -n id -u');
    assert.is(r.stdout, 'systemd\nrunning\n0\nmasked\n0\n', `${h.name}: ${r.stderr}`);
  }
  assert.equal(machine(), before, 'no sysctl of this machine changed');
  const status = await labStatus({ name: lab.name, stateRoot: stateRoot() });
  assert.is(status.ok && status.value.init, 'systemd');
  const again = await labUp({ name: lab.name, stateRoot: stateRoot() });
  assert.ok(again.ok && again.value.added.length === 0 && again.value.state.init === 'systemd', 'a lab keeps its init when none is asked for');
});

test('docker restart of a systemd host is a reboot: it comes back with its host key, and lab up finds its new port', async () => {
  const s = await labStatus({ name: lab.name, stateRoot: stateRoot() });
  if (!s.ok) throw new Error(s.error.message);
  const h1 = s.value.hosts[0]!;
  const bootId = async (port: number) => (await ssh({ name: 'h1', address: '127.0.0.1', port, ip: '', container: h1.container }, 'root', 'cut -d" " -f22 /proc/1/stat; cat /proc/1/comm')).stdout;
  const first = await bootId(h1.port!);
  assert.match(first, /\nsystemd\n$/);
  const restarted = await docker('restart', h1.container);
  assert.is(restarted.code, 0, restarted.stderr);
  const up = await labUp({ name: lab.name, stateRoot: stateRoot() });
  assert.ok(up.ok, !up.ok ? up.error.message : '');
  if (!up.ok) return;
  assert.equal([up.value.added, up.value.removed], [[], []]);
  const port = up.value.state.hosts.find((h) => h.name === 'h1')!.port;
  // known_hosts was written again for the new port, with the key the host kept.
  const after = await bootId(port);
  assert.match(after, /\nsystemd\n$/);
  assert.is.not(after, first, 'a new boot: PID 1 started again');
});

test('the CLI: down of a lab that does not exist says so and succeeds; a bad name is bad input', async () => {
  const cli = (...a: string[]) => sh([process.execPath, '--import', 'tsx', join(packageRoot(), 'cli/main.ts'), 'lab', ...a]);
  const none = await cli('down', '--name', 'no-such-lab-here');
  assert.is(none.code, 0, none.stderr);
  assert.match(none.stdout, /does not exist/);
  const bad = await cli('up', '--name', 'Not_Valid');
  assert.is(bad.code, 2);
  assert.match(bad.stderr, /lab name "Not_Valid" is not valid/);
  const init = await cli('up', '--name', 'x', '--init', 'upstart');
  assert.is(init.code, 2);
  assert.match(init.stderr, /--init <init>' argument 'upstart' is invalid\. expected tini or systemd/);
  assert.not.match(bad.stderr, /\n\s+at /, 'no stack trace');
});

test('lab down leaves no container, volume, network or state behind', async () => {
  const ids = (await docker('ps', '-aq', '--no-trunc', '--filter', `label=berth.lab=${lab.name}`)).stdout.trim().split('\n');
  assert.is(ids.length, 2);
  const volumes = (await docker('inspect', '--format', '{{range .Mounts}}{{if eq .Type "volume"}}{{.Name}} {{end}}{{end}}', ...ids)).stdout.split(/\s+/).filter(Boolean);
  assert.is(volumes.length, 2, 'one /var/lib/docker volume per host');
  const r = await labDown({ name: lab.name, stateRoot: stateRoot() });
  assert.ok(r.ok);
  if (!r.ok) return;
  assert.is(r.value.existed, true);
  assert.is((await docker('ps', '-aq', '--filter', `label=berth.lab=${lab.name}`)).stdout.trim(), '');
  assert.is((await docker('network', 'ls', '-q', '--filter', `name=^berth-lab-${lab.name}$`)).stdout.trim(), '');
  const left = (await docker('volume', 'ls', '-q')).stdout.split('\n');
  for (const v of volumes) assert.not.ok(left.includes(v), `volume ${v} removed`);
  assert.not.ok(existsSync(lab.dir), 'state dir removed');
  const again = await labDown({ name: lab.name, stateRoot: stateRoot() });
  assert.ok(again.ok && !again.value.existed);
});

test.run();
