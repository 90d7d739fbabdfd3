// SSH connections, as the controller makes them: targets resolved from inventory + ~/.ssh/config,
// host keys verified against known_hosts by default, keys and agent only, jump hosts, exec and
// long-lived channels. The pure parts are tested on their own; everything else against real sshd
// on a lab of three machine containers, started once for this file.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { createServer, type AddressInfo } from 'node:net';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import ssh2 from 'ssh2';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { formatError, type BerthError, type Result } from '../controller/errors.js';
import { wrapBecome, shQuote } from '../controller/ssh/become.js';
import { connect } from '../controller/ssh/connect.js';
import { checkHostKey, fingerprint, hostsFieldMatches, knownHostsName, parseKnownHosts } from '../controller/ssh/known-hosts.js';
import { createSshPool } from '../controller/ssh/pool.js';
import type { SshSession } from '../controller/ssh/session.js';
import { parseJumpSpec, resolveTarget, type InventoryHost, type ResolveOptions, type SshTarget } from '../controller/ssh/target.js';
import type { LabHost, TestLab } from './helpers/lab.js';

const scratch = mkdtempSync(join(tmpdir(), 'berth-ssh-test-'));
process.on('exit', () => rmSync(scratch, { recursive: true, force: true }));
const home = join(scratch, 'home');
// Nothing in these tests may read the real ~/.ssh or talk to a real agent.
const isolated: ResolveOptions = { home, sshConfigPath: null, env: {}, localUser: 'tester' };

const wireKey = (publicLine: string): Buffer => Buffer.from(publicLine.split(' ')[1]!, 'base64');
/** A public key line. ssh2's generator drops a leading zero byte of some ed25519 keys (about 1 in 250), so skip those. */
function newKey(): string {
  for (;;) {
    const k = ssh2.utils.generateKeyPairSync('ed25519');
    if (!(ssh2.utils.parseKey(k.private) instanceof Error)) return k.public;
  }
}
/** A private key file written by OpenSSH itself, as an operator's would be. */
function keyFile(name: string, passphrase = ''): string {
  const file = join(scratch, name);
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', passphrase, '-C', name, '-f', file], { stdio: 'ignore' });
  return file;
}

function expectOk<T>(r: Result<T, BerthError>, what: string): T {
  if (!r.ok) assert.unreachable(`${what}: ${formatError(r.error)}`);
  return (r as { ok: true; value: T }).value;
}
function expectErr<T>(r: Result<T, BerthError>, code: string): BerthError {
  if (r.ok) assert.unreachable(`expected ${code}, got success`);
  const e = (r as { ok: false; error: BerthError }).error;
  assert.is(e.code, code, formatError(e));
  assert.not.match(e.message, /\n\s+at /, 'no stack trace in messages');
  return e;
}

// ---------------------------------------------------------------------------------------------
// known_hosts

test('known_hosts: plain names, host lists, [host]:port, wildcards and negation', () => {
  const a = newKey();
  const text = [
    '# comment',
    '',
    `web1.example.com,10.0.0.1 ${a}`,
    `[10.0.0.2]:2222 ${a}`,
    `*.lab.test,!bad.lab.test ${a}`,
    'garbage line that is not an entry',
  ].join('\n');
  const entries = parseKnownHosts(text, 'kh');
  assert.is(entries.length, 3);
  assert.equal(entries.map((e) => e.line), [3, 4, 5]);
  assert.ok(hostsFieldMatches(entries[0]!.hosts, '10.0.0.1'));
  assert.ok(hostsFieldMatches(entries[0]!.hosts, 'WEB1.example.com'), 'host names compare case-insensitively');
  assert.ok(hostsFieldMatches(entries[1]!.hosts, knownHostsName('10.0.0.2', 2222)));
  assert.not.ok(hostsFieldMatches(entries[1]!.hosts, '10.0.0.2'), 'a [host]:port entry is not the host on port 22');
  assert.ok(hostsFieldMatches(entries[2]!.hosts, 'x.lab.test'));
  assert.not.ok(hostsFieldMatches(entries[2]!.hosts, 'bad.lab.test'), 'a matching negation rules the line out');
  assert.is(knownHostsName('H', 22), 'h');
  assert.is(knownHostsName('h', 2201), '[h]:2201');
});

test('known_hosts: hashed entries written by ssh-keygen -H are matched', () => {
  const key = newKey();
  const file = join(scratch, 'hashed_known_hosts');
  writeFileSync(file, `[127.0.0.1]:2201 ${key}\nplain.example ${key}\n`);
  execFileSync('ssh-keygen', ['-H', '-f', file], { stdio: 'ignore' });
  const entries = parseKnownHosts(readFileSync(file, 'utf8'), file);
  assert.is(entries.length, 2);
  assert.ok(entries.every((e) => e.hosts.startsWith('|1|')), 'ssh-keygen hashed both names');
  assert.is(checkHostKey(entries, '[127.0.0.1]:2201', wireKey(key)).status, 'known');
  assert.is(checkHostKey(entries, 'plain.example', wireKey(key)).status, 'known');
  assert.is(checkHostKey(entries, '127.0.0.1', wireKey(key)).status, 'unknown');
});

test('known_hosts: known, changed, other type, unknown and @revoked keys', () => {
  const good = newKey();
  const other = newKey();
  const rsa = ssh2.utils.generateKeyPairSync('rsa', { bits: 2048 }).public;
  const text = `h1 ${good}\nh2 ${good}\n@revoked * ${other}\nh3 ${rsa}\n`;
  const entries = parseKnownHosts(text, '/x/known_hosts');
  assert.is(checkHostKey(entries, 'h1', wireKey(good)).status, 'known');
  const changed = checkHostKey(entries, 'h2', wireKey(newKey()));
  assert.is(changed.status, 'changed');
  if (changed.status === 'changed') assert.is(`${changed.entries[0]!.file}:${changed.entries[0]!.line}`, '/x/known_hosts:2');
  assert.is(checkHostKey(entries, 'h1', wireKey(other)).status, 'revoked', 'a revoked key is refused even for a known host');
  assert.is(checkHostKey(entries, 'h3', wireKey(good)).status, 'other-type');
  assert.is(checkHostKey(entries, 'h4', wireKey(good)).status, 'unknown');
  assert.match(fingerprint(wireKey(good)), /^SHA256:[A-Za-z0-9+/]{43}$/);
});

// ---------------------------------------------------------------------------------------------
// Targets

test('jump specs: user@host:port, IPv6 and ssh:// forms', () => {
  assert.equal(expectOk(parseJumpSpec('admin@bastion:2222'), 'spec'), { user: 'admin', host: 'bastion', port: 2222 });
  assert.equal(expectOk(parseJumpSpec('bastion'), 'spec'), { host: 'bastion' });
  assert.equal(expectOk(parseJumpSpec('ssh://u@[fe80::1]:22'), 'spec'), { user: 'u', host: 'fe80::1', port: 22 });
  expectErr(parseJumpSpec('u@host:99999'), 'ssh.bad-config');
});

test('targets: inventory wins over ssh_config, which wins over defaults', () => {
  const dir = mkdtempSync(join(scratch, 'cfg-'));
  const cfgKey = join(dir, 'cfg_key');
  const invKey = join(dir, 'inv_key');
  writeFileSync(cfgKey, 'x');
  writeFileSync(invKey, 'x');
  const cfg = join(dir, 'config');
  writeFileSync(cfg, [
    'Host web',
    '  HostName 10.1.2.3',
    '  Port 2200',
    '  User deploy',
    `  IdentityFile ${cfgKey}`,
    '  ProxyJump ops@bastion.example:2022',
    `  UserKnownHostsFile ${dir}/kh_%h`,
    '  ConnectTimeout 4',
    'Host *',
    '  User fallback',
  ].join('\n'));
  const fromConfig = expectOk(resolveTarget({ name: 'w', address: 'web' }, { ...isolated, sshConfigPath: cfg }), 'resolve');
  assert.is(fromConfig.host, '10.1.2.3');
  assert.is(fromConfig.port, 2200);
  assert.is(fromConfig.user, 'deploy');
  assert.equal(fromConfig.identityFiles, [cfgKey]);
  assert.equal(fromConfig.knownHostsFiles, [`${dir}/kh_10.1.2.3`]);
  assert.is(fromConfig.connectTimeoutMs, 4000);
  assert.is(fromConfig.jump?.host, 'bastion.example');
  assert.is(fromConfig.jump?.user, 'ops');
  assert.is(fromConfig.jump?.port, 2022);

  const fromInventory = expectOk(resolveTarget(
    { name: 'w', address: 'web', port: 22, user: 'root', key: invKey, known_hosts: join(dir, 'inv_kh'), jump: 'none@other:1', become: true },
    { ...isolated, sshConfigPath: cfg },
  ), 'resolve');
  assert.is(fromInventory.host, '10.1.2.3', 'the address is still looked up as an ssh_config alias');
  assert.is(fromInventory.port, 22);
  assert.is(fromInventory.user, 'root');
  assert.equal(fromInventory.identityFiles, [invKey]);
  assert.equal(fromInventory.knownHostsFiles, [join(dir, 'inv_kh')]);
  assert.is(fromInventory.jump?.host, 'other');
  assert.equal(fromInventory.jump?.identityFiles, [invKey], "a jump written in the inventory uses the entry's key");
  assert.equal(fromInventory.jump?.knownHostsFiles, [join(dir, 'inv_kh')], "and the entry's known_hosts");
  assert.is(fromInventory.become, true);

  const defaults = expectOk(resolveTarget({ name: 'plain', address: '192.0.2.7' }, { ...isolated, env: { SSH_AUTH_SOCK: '/run/agent.sock' } }), 'resolve');
  assert.is(defaults.user, 'tester');
  assert.is(defaults.port, 22);
  assert.is(defaults.agent, '/run/agent.sock');
  assert.equal(defaults.knownHostsFiles, [join(home, '.ssh', 'known_hosts'), join(home, '.ssh', 'known_hosts2')]);
  assert.is(defaults.connectTimeoutMs, 10_000);

  const missing = expectErr(resolveTarget({ name: 'k', address: 'h', key: join(dir, 'nope') }, isolated), 'ssh.key-not-found');
  assert.is(missing.exit, 2);
  const badPort = join(dir, 'badport');
  writeFileSync(badPort, 'Host *\n  Port http\n');
  expectErr(resolveTarget({ name: 'p', address: 'h' }, { ...isolated, sshConfigPath: badPort }), 'ssh.bad-config');
});

test('targets: a ProxyJump that leads back to itself is an error, not a hang', () => {
  const cfg = join(scratch, 'loop_config');
  writeFileSync(cfg, 'Host *\n  ProxyJump bastion\n');
  const e = expectErr(resolveTarget({ name: 'web', address: 'web' }, { ...isolated, sshConfigPath: cfg }), 'ssh.bad-config');
  assert.match(e.message, 'ProxyJump loop');
});

test('become: sudo -n around a command that survives any quoting', () => {
  const nasty = `echo 'it'"'"'s' "$HOME" \`x\` $(y) ; \\ !`;
  assert.is(wrapBecome('id -u', { become: false, user: 'berth' }), 'id -u');
  assert.is(wrapBecome('id -u', { become: true, user: 'root' }), 'id -u');
  const wrapped = wrapBecome(nasty, { become: true, user: 'berth' });
  assert.ok(wrapped.startsWith('sudo -n -- sh -c '));
  // What sh hands to `sh -c` must be the command byte for byte.
  const seen = spawnSync('sh', ['-c', `printf %s ${shQuote(nasty)}`], { encoding: 'utf8' }).stdout;
  assert.is(seen, nasty);
});

// ---------------------------------------------------------------------------------------------
// Against real sshd: one lab of three hosts for the rest of this file.

let lab: TestLab;
const open: SshSession[] = [];
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const ms = (x: number) => `${x.toFixed(1)} ms`;
const report = (line: string) => console.log(`    [ssh] ${line}`);

test.before(async () => {
  const { startLab } = await import('./helpers/lab.js');
  lab = await startLab({ name: 'ssh-test', hosts: 3 });
  // A run interrupted by Ctrl-C must not leave the lab's containers behind.
  for (const sig of ['SIGINT', 'SIGTERM'] as const)
    process.once(sig, () => void lab.down().finally(() => process.exit(130)));
});

test.after(async () => {
  for (const s of open) s.close();
  await lab?.down();
});

const h = (i: number): LabHost => lab.hosts[i - 1]!;

function target(host: LabHost, extra: Partial<InventoryHost> = {}, opts: ResolveOptions = {}): SshTarget {
  const inv: InventoryHost = { name: host.name, address: host.address, port: host.port, user: 'root', key: lab.keyPath, known_hosts: lab.knownHostsPath, ...extra };
  return expectOk(resolveTarget(inv, { ...isolated, ...opts }), 'resolve');
}

async function session(t: SshTarget, opts: Parameters<typeof connect>[1] = {}): Promise<SshSession> {
  const s = expectOk(await connect(t, opts), `connect ${t.name}`);
  open.push(s);
  return s;
}

/** A known_hosts holding only the lab's lines for these names (the lab's file may hash them). */
function knownHostsWith(names: string[], file = join(scratch, `kh-${Math.random().toString(36).slice(2)}`)): string {
  const entries = parseKnownHosts(readFileSync(lab.knownHostsPath, 'utf8'), lab.knownHostsPath);
  const lines: string[] = [];
  for (const name of names)
    for (const e of entries) if (hostsFieldMatches(e.hosts, name)) lines.push(`${name} ${e.keyType} ${e.key.toString('base64')}`);
  assert.ok(lines.length >= names.length, `the lab's known_hosts has keys for ${names.join(', ')}`);
  writeFileSync(file, lines.join('\n') + '\n');
  return file;
}
const hostKeyOf = (name: string): Buffer => {
  const entries = parseKnownHosts(readFileSync(lab.knownHostsPath, 'utf8'), lab.knownHostsPath);
  return entries.find((e) => hostsFieldMatches(e.hosts, name))!.key;
};
const local = (host: LabHost) => knownHostsName(host.address, host.port);

test('key auth: exec returns stdout, stderr and the exit code, byte for byte', async () => {
  const connects: number[] = [];
  for (let i = 0; i < 5; i++) {
    const t0 = performance.now();
    const s = expectOk(await connect(target(h(1))), 'connect');
    connects.push(performance.now() - t0);
    s.close();
  }
  const s = await session(target(h(1)));
  const r = expectOk(await s.exec("printf 'out\\n\\001\\377'; echo oops >&2; exit 3"), 'exec');
  assert.is(r.code, 3);
  assert.equal(r.stdout, Buffer.from('out\n\x01\xff', 'latin1'));
  assert.is(r.stderr.toString(), 'oops\n');
  assert.is(expectOk(await s.exec('hostname'), 'exec').stdout.toString().trim(), h(1).name);

  const rts: number[] = [];
  for (let i = 0; i < 30; i++) {
    const t0 = performance.now();
    expectOk(await s.exec('true'), 'exec');
    rts.push(performance.now() - t0);
  }
  report(`connect + auth: median ${ms(median(connects))} (of ${connects.map((x) => x.toFixed(0)).join(', ')} ms)`);
  report(`sequential exec('true') round trip: median ${ms(median(rts))}, min ${ms(Math.min(...rts))}, max ${ms(Math.max(...rts))}`);
});

test('more commands at once than sshd allows sessions per connection wait their turn', async () => {
  const s = await session(target(h(1)));
  const all = await Promise.all(Array.from({ length: 25 }, (_, i) => s.exec(`echo ${i}`)));
  assert.equal(all.map((r, i) => expectOk(r, `exec ${i}`).stdout.toString()), all.map((_, i) => `${i}\n`));
});

test('ssh_config: Host alias, HostName, Port, IdentityFile and ProxyJump via h1 to h2 at its lab ip, both hops verified', async () => {
  const cfg = join(scratch, 'ssh_config');
  const bastionKh = knownHostsWith([local(h(1))]);
  const innerKh = knownHostsWith([h(2).ip]);
  const bothKh = knownHostsWith([local(h(1)), h(2).ip]);
  const write = (bastionFile: string, innerFile: string) => writeFileSync(cfg, [
    'Host bastion',
    '  HostName 127.0.0.1',
    `  Port ${h(1).port}`,
    '  User root',
    `  IdentityFile ${lab.keyPath}`,
    `  UserKnownHostsFile ${bastionFile}`,
    'Host inner',
    `  HostName ${h(2).ip}`,
    '  User root',
    `  IdentityFile ${lab.keyPath}`,
    '  ProxyJump bastion',
    `  UserKnownHostsFile ${innerFile}`,
    '',
  ].join('\n'));
  const resolveInner = () => expectOk(resolveTarget({ name: 'inner', address: 'inner' }, { ...isolated, sshConfigPath: cfg }), 'resolve');

  write(bothKh, bothKh);
  const t = resolveInner();
  assert.is(t.host, h(2).ip);
  assert.is(t.port, 22);
  assert.is(t.jump?.port, h(1).port);
  const t0 = performance.now();
  const s = await session(t);
  report(`connect through a jump host: ${ms(performance.now() - t0)}`);
  assert.is(expectOk(await s.exec('hostname'), 'exec').stdout.toString().trim(), h(2).name);

  // The inner host's key is checked under the address the jump connects to, its lab ip.
  write(bastionKh, bastionKh);
  const inner = expectErr(await connect(resolveInner()), 'ssh.host-key-unknown');
  assert.match(inner.message, `host key for ${h(2).ip} is not known`);
  // And the bastion's own key is checked too.
  write(innerKh, innerKh);
  const hop = expectErr(await connect(resolveInner()), 'ssh.jump-failed');
  assert.match(hop.message, `through jump host bastion (root@127.0.0.1:${h(1).port})`);
  assert.match(hop.message, `host key for ${local(h(1))} is not known`);
  assert.is(hop.exit, 3);
});

test('a jump host that cannot reach the target says which hop failed', async () => {
  const t = target(h(2), { address: h(2).ip, port: 2, jump: `root@127.0.0.1:${h(1).port}` });
  const e = expectErr(await connect(t), 'ssh.jump-failed');
  assert.match(e.message, `jump host root@127.0.0.1:${h(1).port} could not open a connection to ${h(2).ip}:2`);
  report(`jump to a closed port: ${e.message}`);
});

test('a pool shares one bastion connection between the hosts behind it', async () => {
  const observer = await session(target(h(1)));
  // Established connections to the bastion's sshd, as the bastion sees them.
  const count = async () => {
    const r = expectOk(await observer.exec("cat /proc/net/tcp /proc/net/tcp6 2>/dev/null | awk '$2 ~ /:0016$/ && $4 == \"01\"' | wc -l"), 'count');
    return Number(r.stdout.toString().trim());
  };
  const before = await count();
  const pool = createSshPool();
  const behind = [h(2), h(3)].map((x) => target(x, { address: x.ip, port: 22, jump: target(h(1)) }));
  const [a, b] = await Promise.all(behind.map((t) => pool.get(t)));
  const sa = expectOk(a!, 'pool h2');
  const sb = expectOk(b!, 'pool h3');
  assert.is(expectOk(await pool.get(behind[0]!), 'again'), sa, 'one session per host for the run');
  assert.is(expectOk(await sb.exec('hostname'), 'exec').stdout.toString().trim(), h(3).name);
  assert.is(await count(), before + 1, 'two hosts, one bastion login');
  pool.closeAll();
});

test('a changed host key is refused, naming the known_hosts file:line and the new fingerprint', async () => {
  // h1's address filed with h2's key, after a comment line, so the entry is on line 2.
  const file = join(scratch, 'changed_known_hosts');
  const h2key = hostKeyOf(local(h(2)));
  writeFileSync(file, `# lab hosts\n${local(h(1))} ${parseKnownHosts(readFileSync(lab.knownHostsPath, 'utf8'), 'x').find((e) => e.key.equals(h2key))!.keyType} ${h2key.toString('base64')}\n`);
  for (const acceptNewHostKeys of [false, true]) {
    const e = expectErr(await connect(target(h(1), { known_hosts: file }), { acceptNewHostKeys }), 'ssh.host-key-changed');
    assert.match(e.message, `${file}:2`);
    assert.match(e.message, fingerprint(hostKeyOf(local(h(1)))));
    assert.match(e.hint ?? '', `ssh-keygen -R '[127.0.0.1]:${h(1).port}' -f ${file}`);
    assert.is(e.exit, 3);
  }
  assert.is(readFileSync(file, 'utf8').split('\n').length, 3, 'nothing was added to the file');
});

test('an unknown host is refused, and accepted and recorded with the opt-in', async () => {
  const file = join(scratch, 'new_known_hosts');
  writeFileSync(file, '');
  const t = target(h(3), { known_hosts: file });
  const refused = expectErr(await connect(t, { acceptNewHostKeys: false }), 'ssh.host-key-unknown');
  assert.match(refused.message, fingerprint(hostKeyOf(local(h(3)))));
  assert.match(refused.hint ?? '', '--accept-new-host-keys');
  assert.is(readFileSync(file, 'utf8'), '');

  const s = await session(t, { acceptNewHostKeys: true });
  assert.is(expectOk(await s.exec('hostname'), 'exec').stdout.toString().trim(), h(3).name);
  // OpenSSH's own tool finds the recorded key under the name it would look up.
  const found = spawnSync('ssh-keygen', ['-F', local(h(3)), '-f', file], { encoding: 'utf8' });
  assert.is(found.status, 0, found.stderr);
  // Recorded: the next connection verifies without the opt-in.
  const again = expectOk(await connect(t, { acceptNewHostKeys: false }), 'reconnect');
  again.close();
  // The env var the CLI documents turns the opt-in on too.
  const viaEnv = join(scratch, 'env_known_hosts');
  const e = expectOk(await connect(target(h(2), { known_hosts: viaEnv }), { env: { BERTH_ACCEPT_NEW_HOST_KEYS: '1' } }), 'env opt-in');
  e.close();
  assert.match(readFileSync(viaEnv, 'utf8'), `${local(h(2))} `);
});

test('a key the host does not accept is refused with a clear message', async () => {
  const wrong = keyFile('id_wrong');
  const e = expectErr(await connect(target(h(1), { key: wrong })), 'ssh.auth-failed');
  assert.is(e.message, `root@127.0.0.1:${h(1).port} refused every key offered (${wrong})`);
  assert.match(e.hint ?? '', 'authorized_keys');
  assert.is(e.exit, 3);
  assert.not.match(e.message, /PRIVATE KEY/);

  // A key with a passphrase cannot be used without a prompt; the message says what to do.
  const locked = keyFile('id_locked', 'secret');
  const l = expectErr(await connect(target(h(1), { key: locked })), 'ssh.auth-failed');
  assert.match(l.message, `${locked} (encrypted: add it to ssh-agent)`);
  assert.not.match(l.message, 'secret');
});

test('ssh-agent: a key held only by the agent logs in, after the identity files', async () => {
  const sock = join(scratch, 'agent.sock');
  const agent = spawn('ssh-agent', ['-D', '-a', sock], { stdio: 'ignore' });
  try {
    for (let i = 0; i < 50 && !existsSync(sock); i++) await new Promise((r) => setTimeout(r, 100));
    const added = spawnSync('ssh-add', [lab.keyPath], { env: { ...process.env, SSH_AUTH_SOCK: sock }, encoding: 'utf8' });
    assert.is(added.status, 0, added.stderr);
    const wrong = keyFile('id_wrong2');
    const cfg = join(scratch, 'agent_config');
    writeFileSync(cfg, `Host *\n  IdentityFile ${wrong}\n`);
    const t = expectOk(resolveTarget(
      { name: h(1).name, address: h(1).address, port: h(1).port, user: 'root', known_hosts: lab.knownHostsPath },
      { ...isolated, sshConfigPath: cfg, env: { SSH_AUTH_SOCK: sock } },
    ), 'resolve');
    assert.equal(t.identityFiles, [wrong]);
    assert.is(t.agent, sock);
    const s = await session(t);
    assert.is(expectOk(await s.exec('id -u'), 'exec').stdout.toString().trim(), '0');
    s.close();

    // With a wrong key and an agent that holds nothing useful, both are named.
    spawnSync('ssh-add', ['-D'], { env: { ...process.env, SSH_AUTH_SOCK: sock }, stdio: 'ignore' });
    const e = expectErr(await connect(t), 'ssh.auth-failed');
    assert.is(e.message, `root@127.0.0.1:${h(1).port} refused every key offered (${wrong}, agent)`);
  } finally {
    agent.kill('SIGTERM');
  }
});

test('the berth user becomes root with sudo -n through wrapBecome', async () => {
  const t = target(h(2), { user: 'berth', become: true });
  const s = await session(t);
  const plain = expectOk(await s.exec('id -u'), 'exec');
  assert.is.not(plain.stdout.toString().trim(), '0');
  const r = expectOk(await s.exec(wrapBecome('sudo -n id -u', t)), 'exec');
  assert.is(r.code, 0, r.stderr.toString());
  assert.is(r.stdout.toString().trim(), '0');
  const quoted = expectOk(await s.exec(wrapBecome(`id -u; echo "it's $(whoami)"`, t)), 'exec');
  assert.is(quoted.stdout.toString(), "0\nit's root\n");
});

test('an unreachable host fails fast with ssh.unreachable while a parallel connect succeeds', async () => {
  const free = await new Promise<number>((resolve) => {
    const srv = createServer().listen(0, '127.0.0.1', () => {
      const port = (srv.address() as AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
  const t0 = performance.now();
  const [bad, good] = await Promise.all([
    connect(target(h(1), { name: 'dead', port: free })).then((r) => ({ r, t: performance.now() - t0 })),
    connect(target(h(2))).then((r) => ({ r, t: performance.now() - t0 })),
  ]);
  const e = expectErr(bad.r, 'ssh.unreachable');
  assert.match(e.message, `127.0.0.1:${free}`);
  assert.match(e.message, 'connection refused');
  assert.is(e.exit, 3);
  expectOk(good.r, 'good host').close();
  report(`closed port refused after ${ms(bad.t)}; the good host connected in ${ms(good.t)}`);
});

test('spawn: a long-lived channel round-trips 10 000 lines in order, and bytesSent counts them', async () => {
  const s = await session(target(h(3)));
  const before = s.bytesSent;
  const ch = expectOk(await s.spawn('cat'), 'spawn');
  ch.stderr.resume();
  const N = 10_000;
  const lines = Array.from({ length: N }, (_, i) => `line ${i} ${'x'.repeat(i % 50)}\n`);
  const t0 = performance.now();
  const received: string[] = [];
  let rest = '';
  const done = new Promise<void>((resolve) => {
    ch.stdout.on('data', (d: Buffer) => {
      const parts = (rest + d.toString()).split('\n');
      rest = parts.pop()!;
      received.push(...parts);
      if (received.length >= N) resolve();
    });
  });
  for (const l of lines) ch.write(l);
  await done;
  const elapsed = performance.now() - t0;
  const exit = new Promise<[number | null, string | undefined]>((resolve) => ch.onExit((c, sig) => resolve([c, sig])));
  ch.end();
  assert.equal(await exit, [0, undefined]);
  assert.equal(received, lines.map((l) => l.slice(0, -1)));
  const bytes = lines.reduce((n, l) => n + Buffer.byteLength(l), 0);
  assert.is(s.bytesSent - before, bytes);
  report(`spawn('cat'): ${N} lines (${bytes} bytes) there and back in ${ms(elapsed)}`);

  // Lock-step request/response over one channel: the agent protocol's pattern.
  const echo = expectOk(await s.spawn('cat'), 'spawn');
  echo.stderr.resume();
  const rtts: number[] = [];
  let pending: (() => void) | undefined;
  echo.stdout.on('data', () => pending?.());
  for (let i = 0; i < 200; i++) {
    const t1 = performance.now();
    await new Promise<void>((resolve) => {
      pending = resolve;
      echo.write(`${i}\n`);
    });
    rtts.push(performance.now() - t1);
  }
  echo.end();
  report(`channel round trip (write a line, read it back): median ${ms(median(rtts))}, max ${ms(Math.max(...rtts))}`);
});

test('exec stdin: a buffer and a stream reach the command, and bytesSent grows by their size', async () => {
  const s = await session(target(h(2)));
  const blob = Buffer.alloc(3 * 1024 * 1024, 7);
  const before = s.bytesSent;
  const r = expectOk(await s.exec('wc -c', { stdin: blob }), 'exec');
  assert.is(r.stdout.toString().trim(), String(blob.length));
  assert.is(s.bytesSent - before, blob.length);
  const stream = new PassThrough();
  const pending = s.exec('wc -c', { stdin: stream });
  for (let i = 0; i < 100; i++) stream.write(Buffer.alloc(1000, 1));
  stream.end();
  const rs = expectOk(await pending, 'exec');
  assert.is(rs.stdout.toString().trim(), '100000');
  assert.is(s.bytesSent - before, blob.length + 100_000);
});

test('a command past its timeout is reported, and killed on the host (non-root login)', async () => {
  // OpenSSH only delivers signals to privilege-separated sessions, so this uses the berth user.
  const s = await session(target(h(2), { user: 'berth' }));
  const e = expectErr(await s.exec('sleep 31; echo finished', { timeoutMs: 500 }), 'ssh.exec-timeout');
  assert.match(e.message, 'did not finish within 500 ms');
  assert.is(e.exit, 1);
  // /proc rather than ps or pgrep: the host image need not have procps. Death is asynchronous.
  let left = '';
  for (let i = 0; i < 30 && left !== '0'; i++) {
    if (i) await new Promise((r) => setTimeout(r, 100));
    left = expectOk(await s.exec("for p in /proc/[0-9]*; do tr '\\0' ' ' < $p/cmdline 2>/dev/null; echo; done | grep -c '^sleep 31 $' || true"), 'exec').stdout.toString().trim();
  }
  assert.is(left, '0', 'the command is gone from the host');
});

test('a connection the host drops is reported as ssh.disconnected', async () => {
  const s = expectOk(await connect(target(h(3))), 'connect');
  const closed = new Promise<BerthError | undefined>((resolve) => s.onClose(resolve));
  // Kill this connection's own sshd process: from the controller's side the host went away.
  await s.exec('kill -9 $PPID');
  const reason = await closed;
  assert.is(reason?.code, 'ssh.disconnected');
  assert.match(reason?.message ?? '', `root@127.0.0.1:${h(3).port}`);
  expectErr(await s.exec('true'), 'ssh.disconnected');
});

test.run();
