// Faults during `berth apply`, on real lab hosts over real SSH: the controller killed, a host's
// network cut, the agent killed, a full disk, a host whose clock is off. In each case the run
// says clearly what happened to which host, the other hosts finish, and the next apply
// converges everything. Every check looks at the hosts themselves (docker exec: it works
// while a host's network is cut). A corrupted agent file is covered by apply.test.ts.
import { execFileSync, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parse, stringify } from 'yaml';
import { agentArtifact } from '../controller/agent/artifacts.js';
import { startAgent } from '../controller/agent/start-agent.js';
import type { HostTransport } from '../controller/transport.js';
import { PROTOCOL_VERSION, READY_MARKER, encodeFrame, type HostFacts } from '../protocol/agent-protocol.js';
import { formatError } from '../controller/errors.js';
import { ensureTools } from '../providers/lab/apt-tools.js';
import { networkName } from '../providers/lab/names.js';
import { berth, type Run } from './helpers/berth-cli.js';
import { startLab, type LabHost, type TestLab } from './helpers/lab.js';

let lab: TestLab;


/** A command run on the host itself, not over SSH. */
const onHost = (h: LabHost, script: string): string => execFileSync('docker', ['exec', h.container, 'sh', '-c', script], { encoding: 'utf8' }).trim();
const yes = (h: LabHost, test: string): boolean => onHost(h, `if ${test}; then echo yes; else echo no; fi`) === 'yes';
const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

/**
 * A shell loop on the host itself that prints one line when it sees what it waits for: the
 * test acts on that moment (the kill lands in the window), not after a guessed delay. `seen`
 * resolves with the line, or with '' when the loop ended without one.
 */
function watchOnHost(h: LabHost, loop: string): { seen: Promise<string>; stop(): void } {
  const child = spawn('docker', ['exec', h.container, 'sh', '-c', loop], { stdio: ['ignore', 'pipe', 'ignore'] });
  let out = '';
  const seen = new Promise<string>((resolve) => {
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      if (out.includes('\n')) resolve(out.split('\n')[0]);
    });
    child.on('close', () => resolve(out.split('\n')[0]));
  });
  // The loop inside the container ends with its own deadline; this ends the docker client.
  return { seen, stop: () => void (child.exitCode === null && child.kill()) };
}

/** The agent is gone from a host (it must never outlive its controller for long). */
async function agentGone(h: LabHost, withinMs: number): Promise<boolean> {
  const end = Date.now() + withinMs;
  for (;;) {
    // The bracket keeps pgrep's own command line from matching.
    if (onHost(h, "pgrep -f '[b]erth/agent/' || true") === '') return true;
    if (Date.now() > end) return false;
    await new Promise((r) => setTimeout(r, 250));
  }
}

/**
 * Puts a host back on the lab network. Docker gives its published sshd port a new number
 * then: the inventory and known_hosts follow, as an operator's would for a host back at a
 * new address (same host key).
 */
function reconnect(h: LabHost, net: string): void {
  execFileSync('docker', ['network', 'connect', net, h.container]);
  const port = Number(/:(\d+)\s*$/m.exec(execFileSync('docker', ['port', h.container, '22/tcp'], { encoding: 'utf8' }))?.[1]);
  assert.ok(port > 0, `${h.name} publishes sshd again`);
  writeFileSync(lab.inventoryPath, readFileSync(lab.inventoryPath, 'utf8').replace(new RegExp(`(\\n    port: )${h.port}\\n`), `$1${port}\n`));
  const key = readFileSync(lab.knownHostsPath, 'utf8').split('\n').find((l) => l.startsWith(`[127.0.0.1]:${h.port} `));
  if (key) appendFileSync(lab.knownHostsPath, `${key.replace(`:${h.port} `, `:${port} `)}\n`);
  h.port = port;
}

function playbook(name: string, lines: string[]): string {
  const path = join(lab.dir, `${name}.yml`);
  writeFileSync(path, [`name: ${name}`, 'plays:', '  - hosts: all', '    tasks:', ...lines.map((l) => `      ${l}`), ''].join('\n'));
  return path;
}

const recapOf = (r: Run): Record<string, { ok: number; changed: number; failed: number; unreachable: boolean }> => r.events.find((e) => e.type === 'recap')?.hosts ?? {};

test.before(async () => {
  lab = await startLab({ name: 'faults', hosts: 3 });
  // Lab hosts have no Node: the first run pushes it. Done here so every fault below hits a
  // host that already has its agent, as on a fleet in use.
  const warm = await berth(['apply', playbook('warm', ['- ping:']), '-i', lab.inventoryPath, '--json']);
  if (warm.code !== 0) throw new Error(`warm-up apply failed: ${warm.stderr}${warm.stdout.slice(-2000)}`);
});

/** Facts a host could send (the controller checks them against their schema at hello). */
const FAKE_FACTS: HostFacts = {
  hostname: 'busy',
  os: { id: 'debian', version: '12', name: 'Debian GNU/Linux 12 (bookworm)', family: 'debian' },
  arch: 'x86_64',
  kernel: '6.1.0-18-amd64',
  cpus: 2,
  memoryBytes: 1 << 30,
  disk: { path: '/', totalBytes: 1 << 30, freeBytes: 1 << 29 },
  init: 'systemd',
  user: { name: 'root', uid: 0 },
  node: '20.11.1',
  runtime: { installed: false, running: false },
  containers: [],
  time: new Date().toISOString(),
};

test('a hello that arrives in the same read as the ready marker is not lost (a busy controller)', async () => {
  // Under load ssh2 hands over several chunks in one read loop; the hello used to be emitted
  // while no listener was attached, and that host's start then waited forever.
  const fake: HostTransport = {
    bytesSent: 0,
    close() {},
    exec: async () => assert.unreachable('no upload expected') as never,
    async spawn(cmd) {
      const nonce = /exec "\$N" "\$A" ([0-9a-f]+)/.exec(cmd)![1];
      const stdout = new PassThrough();
      stdout.push(`${READY_MARKER} ${nonce}\n`);
      stdout.push(encodeFrame({ t: 'hello', protocol: PROTOCOL_VERSION, agentSha256: agentArtifact().sha256, pid: 1, facts: FAKE_FACTS }));
      return { ok: true, value: { stdout, stderr: new PassThrough(), write: () => true, end() {}, onExit() {}, close() {} } };
    },
  };
  const started = await Promise.race([startAgent(fake, { become: false, host: 'busy' }), new Promise<'hung'>((r) => setTimeout(() => r('hung'), 3000))]);
  assert.ok(started !== 'hung' && started.ok, 'the agent start completed');
});

test('the controller killed mid-transfer (SIGKILL), seen by a partial blob on a host: it is removed, no agent left behind, the next apply converges', async () => {
  const size = 64 << 20;
  const big = randomBytes(size);
  writeFileSync(join(lab.dir, 'big.bin'), big);
  for (const h of lab.hosts) onHost(h, 'rm -rf /srv/faults /var/lib/berth/blobs && mkdir -p /srv/faults');
  const pb = playbook('killed', [
    '- copy: { src: big.bin, dest: /srv/faults/big.bin, mode: "0600" }',
    '- copy: { content: "after\\n", dest: /srv/faults/after.txt }',
  ]);
  const h1 = lab.hosts[0];
  // The store's temp file on h1, with some bytes in it and fewer than all: the transfer is under way.
  const partial = watchOnHost(h1, `for i in $(seq 6000); do for f in /var/lib/berth/blobs/*.tmp; do n=$(stat -c %s "$f" 2>/dev/null || echo 0); [ "$n" -gt 0 ] && [ "$n" -lt ${size} ] && { echo "$n"; exit 0; }; done; sleep 0.005; done`);
  let killed: ReturnType<typeof spawn> | undefined;
  let seenBytes = 0;
  const r = await berth(['apply', pb, '-i', lab.inventoryPath, '--json'], {
    onEvent: (e, child) => {
      if (e.type !== 'task-start' || killed) return;
      killed = child;
      void partial.seen.then((n) => {
        seenBytes = Number(n);
        child.kill('SIGKILL');
      });
    },
  });
  partial.stop();
  assert.ok(killed, `the run reached the copy: ${r.stderr}`);
  assert.ok(seenBytes > 0 && seenBytes < size, `the kill was sent when h1's blob was partial (${seenBytes} of ${size} bytes)`);
  assert.is(r.code, null, 'the controller died by SIGKILL');
  assert.not.ok(r.events.some((e) => e.type === 'task-end' && e.host === h1.name), 'h1 ended no task before the kill');
  for (const h of lab.hosts) {
    assert.ok(await agentGone(h, 15_000), `${h.name}: the agent exits once its controller is gone`);
    assert.is(onHost(h, 'ls -A /var/lib/berth/blobs 2>/dev/null | grep -c "\\.tmp$" || true'), '0', `${h.name}: no partial blob kept`);
    assert.is(onHost(h, 'ls -A /srv/faults | grep -c "\\.tmp$" || true'), '0', `${h.name}: no temp file beside the destination`);
    assert.not.ok(yes(h, 'test -e /srv/faults/after.txt'), `${h.name}: nothing started after the controller died`);
  }
  assert.not.ok(yes(h1, 'test -e /srv/faults/big.bin'), 'h1: the copy whose content was cut off never wrote its file');

  const again = await berth(['apply', pb, '-i', lab.inventoryPath, '--json']);
  assert.is(again.code, 0, again.stderr + again.stdout.slice(-2000));
  for (const h of lab.hosts) {
    assert.is(onHost(h, 'sha256sum /srv/faults/big.bin | cut -d" " -f1'), sha256(big), `${h.name}: big.bin converged`);
    assert.is(onHost(h, 'cat /srv/faults/after.txt'), 'after');
  }
});

test('the controller killed mid-task (SIGKILL), seen by the task having started and not ended on every host: each finishes it, starts no other, the next apply converges', async () => {
  for (const h of lab.hosts) onHost(h, 'rm -rf /srv/faults && mkdir -p /srv/faults');
  const pb = playbook('killed-slow', [
    '- command: [sh, -c, "touch /srv/faults/slow-started && sleep 3 && touch /srv/faults/slow-done"]',
    '- copy: { content: "after\\n", dest: /srv/faults/after.txt }',
  ]);
  // Every host inside the command: it started there and has not finished.
  const inside = lab.hosts.map((h) => watchOnHost(h, 'for i in $(seq 3000); do [ -e /srv/faults/slow-started ] && { [ -e /srv/faults/slow-done ] && echo late || echo inside; exit 0; }; sleep 0.01; done'));
  let seen: string[] = [];
  let killed = false;
  const r = await berth(['apply', pb, '-i', lab.inventoryPath, '--json'], {
    onEvent: (e, child) => {
      if (e.type !== 'task-start' || killed) return;
      killed = true;
      void Promise.all(inside.map((w) => w.seen)).then((s) => {
        seen = s;
        child.kill('SIGKILL');
      });
    },
  });
  for (const w of inside) w.stop();
  assert.equal(seen, lab.hosts.map(() => 'inside'), 'the kill was sent while every host was inside the command');
  assert.is(r.code, null);
  assert.not.ok(r.events.some((e) => e.type === 'task-end'), 'no task had ended when the controller died');
  for (const h of lab.hosts) {
    assert.ok(await agentGone(h, 15_000), `${h.name}: the agent exits after its current task`);
    assert.ok(yes(h, 'test -e /srv/faults/slow-done'), `${h.name}: the task in progress was finished, not cut off`);
    assert.not.ok(yes(h, 'test -e /srv/faults/after.txt'), `${h.name}: no task started after the controller died`);
  }
  const again = await berth(['apply', pb, '-i', lab.inventoryPath, '--json']);
  assert.is(again.code, 0, again.stderr);
  for (const h of lab.hosts) assert.is(onHost(h, 'cat /srv/faults/after.txt'), 'after');
});

test("a host's network cut mid-run: reported as unreachable, the others finish (exit 3), the next apply converges", async () => {
  const [h1, h2, h3] = lab.hosts;
  for (const h of lab.hosts) onHost(h, 'rm -rf /srv/faults && mkdir -p /srv/faults');
  // Keepalives as an operator would set them for a fleet (ssh_config): a silent host is given
  // up after about 3 s instead of OpenSSH-like defaults of 30 s.
  const sshConfig = join(lab.dir, 'ssh_config');
  writeFileSync(sshConfig, 'Host *\n  ServerAliveInterval 1\n  ServerAliveCountMax 3\n');
  // h2's agent, cut off, neither hears the end of the run nor releases h2's deploy lock: with a
  // short lock TTL (tests only) the lock expires during the run and h2 stops its plan, so the
  // next apply takes h2 over at once instead of after the default 2 minutes.
  const env = { BERTH_SSH_CONFIG: sshConfig, BERTH_LOCK_TTL_MS: '3000' };
  const pb = playbook('net-cut', [
    '- command: [sh, -c, "sleep 3 && touch /srv/faults/net-1"]',
    '- copy: { content: "net\\n", dest: /srv/faults/net-2 }',
  ]);
  const net = networkName(lab.name);
  let cut = false;
  let r: Run;
  try {
    r = await berth(['apply', pb, '-i', lab.inventoryPath, '--json'], {
      env,
      onEvent: (e) => {
        if (e.type === 'task-start' && e.host === h2.name && !cut) {
          cut = true;
          execFileSync('docker', ['network', 'disconnect', net, h2.container]);
        }
      },
    });
  } finally {
    if (cut) reconnect(h2, net);
  }
  assert.ok(cut, 'the run reached h2');
  assert.is(r.code, 3, `exit 3 (a host unreachable), got ${r.code}: ${r.stderr}`);
  const lost = r.events.filter((e) => (e.type === 'host-failed' || e.type === 'host-unreachable') && e.host === h2.name);
  assert.is(lost.length, 1, 'h2 is reported once');
  assert.match(lost[0].error.message, /connection/i, lost[0].error.message);
  const recap = recapOf(r);
  assert.is(recap[h2.name].unreachable, true, 'the recap says h2 was unreachable');
  for (const h of [h1, h3]) {
    assert.is(recap[h.name].failed, 0);
    assert.is(onHost(h, 'cat /srv/faults/net-2'), 'net', `${h.name} finished its plan`);
  }

  const again = await berth(['apply', pb, '-i', lab.inventoryPath, '--json'], { env });
  assert.is(again.code, 0, again.stderr + again.stdout.slice(-1500));
  assert.is(onHost(h2, 'cat /srv/faults/net-2'), 'net', 'h2 converged once back');
});

test('the agent killed on a host mid-task: that host is reported (exit 1), the others finish, the next apply converges', async () => {
  const [h1, h2, h3] = lab.hosts;
  for (const h of lab.hosts) onHost(h, 'rm -rf /srv/faults && mkdir -p /srv/faults');
  const pb = playbook('agent-killed', [
    '- command: [sh, -c, "sleep 2 && touch /srv/faults/k-1"]',
    '- copy: { content: "k\\n", dest: /srv/faults/k-2 }',
  ]);
  let killed = false;
  const r = await berth(['apply', pb, '-i', lab.inventoryPath, '--json'], {
    onEvent: (e) => {
      if (e.type === 'task-start' && e.host === h2.name && !killed) {
        killed = true;
        onHost(h2, "pkill -f '[b]erth/agent/'");
      }
    },
  });
  assert.ok(killed);
  assert.is(r.code, 1, r.stderr);
  const failed = r.events.filter((e) => e.type === 'host-failed' && e.host === h2.name);
  assert.is(failed.length, 1, 'h2 is reported once');
  assert.match(failed[0].error.message, /agent .*(killed|SIGTERM)/, failed[0].error.message);
  for (const h of [h1, h3]) assert.is(onHost(h, 'cat /srv/faults/k-2'), 'k', `${h.name} finished its plan`);
  assert.not.ok(yes(h2, 'test -e /srv/faults/k-2'), 'nothing ran on h2 after its agent died');

  const again = await berth(['apply', pb, '-i', lab.inventoryPath, '--json']);
  assert.is(again.code, 0, again.stderr);
  assert.is(onHost(h2, 'cat /srv/faults/k-2'), 'k');
});

test('a full disk: the copy fails with ENOSPC, no partial file is left, the others finish; with room again it converges', async () => {
  const [h1, h2, h3] = lab.hosts;
  const blob = randomBytes(2 << 20);
  writeFileSync(join(lab.dir, 'two-mb.bin'), blob);
  for (const h of lab.hosts) onHost(h, 'umount /srv/full 2>/dev/null; rm -rf /srv/full && mkdir -p /srv/full');
  onHost(h1, 'mount -t tmpfs -o size=1m tmpfs /srv/full');
  try {
    const pb = playbook('disk-full', ['- copy: { src: two-mb.bin, dest: /srv/full/two-mb.bin }', '- copy: { content: "ok\\n", dest: /srv/full/after.txt }']);
    const r = await berth(['apply', pb, '-i', lab.inventoryPath, '--json']);
    assert.is(r.code, 1, r.stderr);
    const end = r.events.find((e) => e.type === 'task-end' && e.host === h1.name && e.task === 0);
    assert.is(end?.status, 'failed');
    assert.match(end?.message ?? '', /ENOSPC|no space left/i, end?.message);
    assert.match(end?.message ?? '', /\/srv\/full\/two-mb\.bin/, 'the message names the file');
    assert.is(onHost(h1, 'ls -A /srv/full'), '', 'h1: no partial file, no temp file');
    for (const h of [h2, h3]) assert.is(onHost(h, 'sha256sum /srv/full/two-mb.bin | cut -d" " -f1'), sha256(blob), `${h.name} finished`);

    onHost(h1, 'umount /srv/full');
    const again = await berth(['apply', pb, '-i', lab.inventoryPath, '--json']);
    assert.is(again.code, 0, again.stderr);
    assert.is(onHost(h1, 'sha256sum /srv/full/two-mb.bin | cut -d" " -f1'), sha256(blob));
  } finally {
    onHost(h1, 'umount /srv/full 2>/dev/null || true');
  }
});

test('the disk under /var/lib/berth full on a host: its failure names that disk, the others finish; freed, the next apply converges', async () => {
  const [h1, h2, h3] = lab.hosts;
  for (const h of lab.hosts) onHost(h, 'rm -rf /srv/faults && mkdir -p /srv/faults');
  const pb = playbook('berth-dir-full', ['- copy: { content: "room\\n", dest: /srv/faults/room.txt }']);
  // A small disk of its own over berth's directory on h3, filled to the last byte: the agent and
  // its runtime must be pushed there again, and nothing fits.
  onHost(h3, 'mount -t tmpfs -o size=4m tmpfs /var/lib/berth && (dd if=/dev/zero of=/var/lib/berth/filler bs=64k 2>/dev/null || true)');
  try {
    assert.is(onHost(h3, "df -P /var/lib/berth | awk 'NR==2 {print $4}'"), '0', 'the disk under /var/lib/berth is full');
    const r = await berth(['apply', pb, '-i', lab.inventoryPath, '--json'], { timeoutMs: 120_000 });
    // Its agent could not be started there: the host is reported as one berth could not work on (exit 3).
    assert.is(r.code, 3, `the run ended by itself, exit 3: ${r.stderr}`);
    const lost = r.events.filter((e) => (e.type === 'host-failed' || e.type === 'host-unreachable') && e.host === h3.name);
    assert.is(lost.length, 1, `h3 is reported once: ${JSON.stringify(r.events.filter((e) => e.host === h3.name))}`);
    const msg = `${lost[0].error.message} ${lost[0].error.hint ?? ''}`;
    assert.is(lost[0].error.code, 'agent.disk-full', msg);
    assert.match(msg, /no space left/i, msg);
    assert.match(lost[0].error.message, /^no space left on the disk under \/var\/lib\/berth on h3: /, `the message names the disk: ${msg}`);
    assert.match(lost[0].error.hint, /free space under \/var\/lib\/berth/);
    for (const h of [h1, h2]) assert.is(onHost(h, 'cat /srv/faults/room.txt'), 'room', `${h.name} finished its plan`);
    assert.not.ok(yes(h3, 'test -e /srv/faults/room.txt'));
  } finally {
    onHost(h3, 'umount /var/lib/berth 2>/dev/null || true');
  }
  const again = await berth(['apply', pb, '-i', lab.inventoryPath, '--json']);
  assert.is(again.code, 0, again.stderr + again.stdout.slice(-1500));
  assert.is(onHost(h3, 'cat /srv/faults/room.txt'), 'room', 'h3 converged once its disk had room');
});

test('an agent that never says hello: after BERTH_AGENT_TIMEOUT its host is reported unreachable, the others finish', async () => {
  const [h1, h2, h3] = lab.hosts;
  for (const h of lab.hosts) onHost(h, 'rm -rf /srv/faults && mkdir -p /srv/faults');
  const pb = playbook('hello-timeout', ['- copy: { content: "hi\\n", dest: /srv/faults/hi.txt }']);
  const env = { BERTH_AGENT_TIMEOUT: '3s' };
  // h2 gets a Node of its own that hangs: a `node` first on PATH that says it is v20 (so the
  // bootstrap picks it over the pushed runtime, whose sha256 it checks) and then runs the hang.
  const hostNode = '/usr/local/bin/node';
  const hangWith = (script: string) =>
    onHost(h2, `printf '#!/bin/sh\\ncase "$1" in --version) echo v20.0.0; exit 0 ;; esac\\n%s\\n' '${script}' > ${hostNode} && chmod 755 ${hostNode}`);
  const recovered = () => onHost(h2, `rm -f ${hostNode}; pkill -f "[s]leep 600" || true`);
  try {
    hangWith('exec sleep 600');
    const t0 = Date.now();
    const r = await berth(['apply', pb, '-i', lab.inventoryPath, '--json'], { env, timeoutMs: 120_000 });
    const tookMs = Date.now() - t0;
    assert.is(r.code, 3, `exit 3 (a host unreachable), got ${r.code}: ${r.stderr}`);
    assert.ok(tookMs < 60_000, `the run ended long before the hang would have (${tookMs} ms)`);
    const lost = r.events.filter((e) => e.type === 'host-unreachable');
    assert.equal(lost.map((e) => e.host), [h2.name], 'only h2 is reported');
    assert.is(lost[0].error.code, 'agent.timeout');
    assert.match(lost[0].error.message, /^the agent on h2 did not answer within 3 s of its start/);
    assert.match(lost[0].error.hint, /check node on the host/);
    assert.is(recapOf(r)[h2.name].unreachable, true);
    for (const h of [h1, h3]) assert.is(onHost(h, 'cat /srv/faults/hi.txt'), 'hi', `${h.name} finished its plan`);

    // Hung after the marker (as a dockerd that never answers the facts would leave it): the
    // message says so, and plain output carries it with its hint.
    hangWith('echo; echo "BERTH-AGENT-READY $2"; exec sleep 600');
    const plain = await berth(['apply', pb, '-i', lab.inventoryPath], { env, timeoutMs: 120_000 });
    assert.is(plain.code, 3, plain.stdout + plain.stderr);
    assert.match(plain.stdout, /h2 +UNREACHABLE the agent on h2 started but sent no hello within 3 s/);
    assert.match(plain.stdout, /hint: check that the Docker engine on the host answers/);
  } finally {
    recovered();
  }
  const again = await berth(['apply', pb, '-i', lab.inventoryPath, '--json']);
  assert.is(again.code, 0, again.stderr + again.stdout.slice(-1500));
  assert.is(onHost(h2, 'cat /srv/faults/hi.txt'), 'hi', 'h2 converged once its Node runs again');
});

/** libfaketime on the controller machine (Debian's package, installed once if missing). */
async function faketimeLibrary(): Promise<string> {
  const t = await ensureTools(['libfaketime'], (l) => process.stderr.write(`  [faults] ${l}\n`));
  if (!t.ok) throw new Error(formatError(t.error));
  return '/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1';
}

test('a host whose clock is 2 days behind: warned about, the run converges as elsewhere, and its facts carry the host\'s time', async () => {
  // Containers share the kernel's clock, so the real clock is never touched: libfaketime,
  // preloaded through sshd's SetEnv on h3 only, gives its SSH sessions (the agent and what it
  // runs) a clock 2 days behind. sshd itself stays on the real clock (its pre-auth sandbox
  // does not survive the preload). berth warns about the skew (and goes on); facts.time shows it.
  // sudo rightly drops LD_PRELOAD from the session, so this run logs in as root, not as the lab
  // inventory's berth user with become.
  const inv = parse(readFileSync(lab.inventoryPath, 'utf8')) as { ssh: Record<string, unknown> };
  inv.ssh = { ...inv.ssh, user: 'root', become: false };
  const asRoot = join(lab.dir, 'inventory-root.yml');
  writeFileSync(asRoot, stringify(inv));
  const h3 = lab.hosts[2];
  const dropIn = '/etc/ssh/sshd_config.d/zz-berth-faketime.conf';
  execFileSync('docker', ['cp', await faketimeLibrary(), `${h3.container}:/usr/local/lib/libfaketime.so.1`]);
  onHost(h3, `echo "SetEnv LD_PRELOAD=/usr/local/lib/libfaketime.so.1 FAKETIME=-2d" > ${dropIn} && kill -HUP $(pgrep -o -x sshd)`);
  try {
    const skew = Date.now() / 1000 - Number(onHost(h3, 'LD_PRELOAD=/usr/local/lib/libfaketime.so.1 FAKETIME=-2d date +%s'));
    assert.ok(Math.abs(skew - 2 * 86400) < 120, `h3's clock is 2 days behind (${Math.round(skew)} s)`);
    for (const h of lab.hosts) onHost(h, 'rm -rf /srv/faults && mkdir -p /srv/faults');
    const pb = playbook('clock', [
      '- command: [echo, "{{facts.time}}"]',
      '- copy: { content: "clock\\n", dest: /srv/faults/clock.txt }',
      '- file: { path: /srv/faults/touched, state: touch }',
    ]);
    const r = await berth(['apply', pb, '-i', asRoot, '--json']);
    assert.is(r.code, 0, JSON.stringify(r.events.filter((e) => /unreachable|failed/.test(e.type))) + r.stderr);
    const reported = Object.fromEntries(r.events.filter((e) => e.type === 'output').map((e) => [e.host, (Date.now() - Date.parse(e.line)) / 1000]));
    assert.ok(Math.abs(reported.h3 - 2 * 86400) < 300, `facts.time of h3 is 2 days behind (${reported.h3} s)`);
    for (const h of ['h1', 'h2']) assert.ok(Math.abs(reported[h]) < 300, `facts.time of ${h} is the real time (${reported[h]} s)`);
    const warned = r.events.filter((e) => e.type === 'warning');
    assert.equal(warned.map((e) => [e.host, e.code]), [['h3', 'clock.skew']], 'h3 alone is warned about, once');
    assert.is(warned[0].message, "h3's clock is 2 days behind this machine's: TTLs, lock expiry and release times will be off");
    assert.match(warned[0].hint, /fix NTP on the host/);
    assert.ok(Math.abs(warned[0].skewMs / 1000 + 2 * 86400) < 300, `skewMs is about -2 days (${warned[0].skewMs})`);
    for (const h of lab.hosts) assert.is(onHost(h, 'cat /srv/faults/clock.txt'), 'clock');
    // Converged: a second run changes nothing but the command (which always runs).
    const again = await berth(['apply', pb, '-i', asRoot, '--json']);
    assert.is(again.code, 0);
    assert.is(recapOf(again).h3.changed, 1, 'on h3 only the command ran again');
    // Plain output: the warning and its hint under h3's connection line, and the run succeeds.
    const plain = await berth(['apply', pb, '-i', asRoot]);
    assert.is(plain.code, 0, plain.stdout + plain.stderr);
    assert.match(plain.stdout, /h3 +WARNING h3's clock is 2 days behind this machine's: TTLs, lock expiry and release times will be off\n +hint: fix NTP on the host/);
    assert.not.match(plain.stdout, /h[12] +WARNING/);
  } finally {
    onHost(h3, `rm -f ${dropIn} /usr/local/lib/libfaketime.so.1 && kill -HUP $(pgrep -o -x sshd)`);
  }
});

test.after(async () => {
  await lab?.down();
});

test.run();
