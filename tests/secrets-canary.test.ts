// A canary secret, a random value read from a file through `secrets:`, is used in a template, in
// a task's environment and a service's, and in a command's arguments on a lab host; it is then
// looked for in everything berth shows and writes: plain output, the live view on a terminal
// (tmux), --json, `berth plan` (its diffs), --debug (its output and the debug log in the state
// dir, when there is one), `berth releases`, `berth rollback`, and every file on the host outside
// the engine's own storage (the release files and blob store under /var/lib/berth included). It
// is found once: in the file the template wrote, where it belongs. A no_log task's output is
// hidden entirely, whether or not it holds a secret. A rollback to a release whose record holds
// the secret's name brings the value back.
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { formatError } from '../controller/errors.js';
import { ensureTools } from '../providers/lab/apt-tools.js';
import { servicesLab, type ServicesLab } from './services-lab.js';

const root = new URL('..', import.meta.url).pathname;
const CANARY = `canary-${randomBytes(12).toString('hex')}`;
/** Printed by the no_log task beside the secret: it must show nowhere either. */
const NO_LOG_MARK = 'no-log-marker-5f1d';
const socket = `berth-secrets-${process.pid}`;
const stateDir = mkdtempSync(join(tmpdir(), 'berth-secrets-state-'));
let sl: ServicesLab;
let playbook: string;

/** Every place the canary was seen: channel -> how many times. */
const found = new Map<string, number>();
const count = (text: string, needle = CANARY) => text.split(needle).length - 1;
function look(channel: string, text: string): void {
  found.set(channel, (found.get(channel) ?? 0) + count(text));
  assert.ok(!text.includes(NO_LOG_MARK), `${channel}: the no_log task's output shows:\n${text.slice(0, 4000)}`);
}

const tmux = (...args: string[]) => execFileSync('tmux', ['-L', socket, ...args], { encoding: 'utf8' });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** berth on a 160x50 terminal (a TTY, so the live view): every distinct screen while it ran, and the scrollback. */
async function onTerminal(args: string[]): Promise<string> {
  const session = `secrets-${process.pid}`;
  const cmd = `cd ${root} && env -u CI -u CONTINUOUS_INTEGRATION TERM=xterm-256color ${process.execPath} bin/berth.js ${args.join(' ')}; echo "EXIT=$?"; sleep 600`;
  tmux('new-session', '-d', '-s', session, '-x', '160', '-y', '50', cmd);
  const frames: string[] = [];
  const deadline = Date.now() + 180_000;
  try {
    for (;;) {
      const screen = tmux('capture-pane', '-p', '-t', session);
      if (frames[frames.length - 1] !== screen) frames.push(screen);
      if (/^EXIT=\d+/m.test(screen)) {
        assert.match(screen, /^EXIT=0/m, screen);
        return [...frames, tmux('capture-pane', '-p', '-S', '-', '-t', session)].join('\n');
      }
      if (Date.now() > deadline) throw new Error(`berth ${args.join(' ')} did not end; screen:\n${screen}`);
      await sleep(100);
    }
  } finally {
    tmux('kill-session', '-t', session);
  }
}

async function runBerth(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [join(root, 'bin/berth.js'), ...args], { cwd: sl.lab.dir, env: { ...process.env, CI: 'true', ...env } });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    child.on('close', (code) => resolve({ code: code ?? 1, out }));
  });
}

test.before(async () => {
  const t = await ensureTools(['tmux'], (l) => process.stderr.write(`  [tmux] ${l}\n`));
  if (!t.ok) throw new Error(formatError(t.error));
  sl = await servicesLab('secrets-canary', 1);
  sl.file('canary.txt', `${CANARY}\n`);
  sl.file('app.conf.hbs', 'user=app\npassword={{ canary }}\n');
  playbook = sl.file(
    'canary.yml',
    `name: canary
secrets:
  canary: { file: canary.txt }
plays:
  - name: secrets
    hosts: all
    tasks:
      - file: { path: /etc/canary, state: directory, mode: "0700" }
      - name: config from a template
        template: { src: app.conf.hbs, dest: /etc/canary/app.conf, mode: "0600" }
      - name: the secret as an argument
        command: [sh, -c, 'echo "password is $0"; echo "stderr has $0" >&2; sleep 1', "{{ canary }}"]
      - name: the secret in the environment
        shell: 'echo "environment has $CANARY_ENV"; test -n "$CANARY_ENV"'
        environment: { CANARY_ENV: "{{ canary }}" }
      - name: hidden
        command: [sh, -c, 'echo "${NO_LOG_MARK} $0"; echo "${NO_LOG_MARK}" >&2', "{{ canary }}"]
        no_log: true
    services:
      app:
        image: lab/busybox
        command: [sleep, "3600"]
        environment: { APP_PASSWORD: "{{ canary }}", APP_USER: "{{ default app_user \\"app\\" }}" }
`,
  );
});

test.after(async () => {
  await sl?.down();
  rmSync(stateDir, { recursive: true, force: true });
});

test('berth plan (its diffs) on a fresh host, plain and verbose', async () => {
  const r = await runBerth(['plan', playbook, '-i', sl.lab.inventoryPath, '--plain', '--verbose']);
  assert.is(r.code, 0, r.out);
  // The template's file would be created: its diff says so in one line instead of showing it.
  assert.match(r.out, /config from a template/);
  look('plan (plain, diffs)', r.out);
});

test('apply --json: every event', async () => {
  const r = await runBerth(['apply', playbook, '-i', sl.lab.inventoryPath, '--json', '--diff']);
  assert.is(r.code, 0, r.out);
  look('apply --json', r.out);
  const events = r.out.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, any>);
  // The commands did print the secret, and berth shows the mask where it was.
  const outputs = events.filter((e) => e.type === 'output').map((e) => e.line as string);
  assert.ok(outputs.includes('password is ********'), outputs.join('\n'));
  assert.ok(outputs.includes('environment has ********'), outputs.join('\n'));
  // no_log: no output event of that task, and its end says only that it was hidden.
  const hidden = events.find((e) => e.type === 'task-end' && e.name === 'hidden');
  assert.ok(hidden, 'the no_log task ended');
  assert.is(events.filter((e) => e.type === 'output' && e.task === hidden!.task).length, 0);
  assert.is(hidden!.status, 'changed');
});

test('apply on a terminal: the live view, every screen while it ran and the scrollback', async () => {
  const screens = await onTerminal(['apply', playbook, '-i', sl.lab.inventoryPath, '--diff']);
  look('live view (tmux)', screens);
  assert.match(screens, /RECAP/);
  // The live view did show the command's output while it ran (masked).
  assert.match(screens, /(password is|stderr has) \*{8}/);
});

test('apply --debug --plain, and the debug log in the state dir', async () => {
  const r = await runBerth(['apply', playbook, '-i', sl.lab.inventoryPath, '--debug', '--plain', '--verbose', '--diff'], { BERTH_STATE_DIR: stateDir });
  look('apply --debug --plain', r.out);
  assert.is(r.code, 0, r.out);
  assert.match(r.out, /password is \*{8}/);
  const log = join(stateDir, 'debug.log');
  if (existsSync(log)) look('debug.log', readFileSync(log, 'utf8'));
});

test('berth releases, as text and --json', async () => {
  for (const json of [[], ['--json']]) {
    const r = await runBerth(['releases', 'app', '-p', playbook, '-i', sl.lab.inventoryPath, ...json]);
    assert.is(r.code, 0, r.out);
    look(`releases ${json.join(' ')}`.trim(), r.out);
  }
});

test('a second release, then berth rollback: the first comes back with the secret\'s value, though its record holds only its name', async () => {
  const env = async () => (await sl.ssh(sl.hosts[0], `docker inspect --format '{{range .Config.Env}}{{println .}}{{end}}' $(docker ps -q --filter label=berth.service=app)`)).stdout.split('\n').filter((l) => l.startsWith('APP_')).sort();
  const second = await runBerth(['apply', playbook, '-i', sl.lab.inventoryPath, '--plain', '-e', 'app_user=other']);
  assert.is(second.code, 0, second.out);
  look('apply of a second release', second.out);
  assert.equal(await env(), [`APP_PASSWORD=${CANARY}`, 'APP_USER=other']);
  const back = await runBerth(['rollback', 'app', '-p', playbook, '-i', sl.lab.inventoryPath, '--json']);
  assert.is(back.code, 0, back.out);
  look('rollback', back.out);
  assert.equal(await env(), [`APP_PASSWORD=${CANARY}`, 'APP_USER=app']);
});

test('files on the host: only the template\'s output holds the canary', async () => {
  // Everything but the kernel's views and the engine's own storage (a container's environment is
  // Docker's to keep, as `docker inspect` shows it), the release files under /var/lib/berth included.
  const prune = ['/proc', '/sys', '/dev', '/var/lib/docker', '/var/lib/containerd', '/run/docker', '/run/containerd'].map((p) => `-path ${p}`).join(' -o ');
  const r = await sl.ssh(sl.hosts[0], `find / \\( ${prune} \\) -prune -o -type f -print0 2>/dev/null | xargs -0 grep -lF -- '${CANARY}' 2>/dev/null; echo END`);
  assert.match(r.stdout, /END$/, 'the search ran to its end');
  const files = r.stdout.split('\n').filter((l) => l && l !== 'END');
  assert.equal(files, ['/etc/canary/app.conf'], `files holding the canary:\n${files.join('\n')}`);
  const releases = await sl.ssh(sl.hosts[0], 'find /var/lib/berth -type f | sort');
  const release = releases.stdout.split('\n').find((f) => /\/var\/lib\/berth\/releases\/.+\/app\.json$/.test(f));
  assert.ok(release, `a release file of app:\n${releases.stdout}`);
  // It records the service's environment (what a rollback converges again): the secret's place is there.
  assert.match((await sl.ssh(sl.hosts[0], `cat ${release}`)).stdout, /APP_USER/);
  assert.is((await sl.ssh(sl.hosts[0], 'cat /etc/canary/app.conf')).stdout, `user=app\npassword=${CANARY}`);
});

test('the canary was in nothing berth showed', () => {
  const seen = [...found].filter(([, n]) => n > 0);
  assert.equal(seen, [], `the canary was seen in: ${seen.map(([c, n]) => `${c} (${n})`).join(', ')}`);
  // Every channel was looked at (the debug log is only there when something went wrong).
  assert.equal([...found.keys()].filter((c) => c !== 'debug.log'), ['plan (plain, diffs)', 'apply --json', 'live view (tmux)', 'apply --debug --plain', 'releases', 'releases --json', 'apply of a second release', 'rollback']);
});

test.run();
