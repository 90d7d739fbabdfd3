// The live view on a real terminal: `berth apply` runs inside tmux (a TTY, CI unset) against
// lab hosts, and the screen is read with `tmux capture-pane` while it runs and at the end.
//
// BERTH_CAPTURES=docs/captures makes this file also write the captures kept in the docs
// (with 3 hosts, as docs/captures/apply-3-hosts.txt shows).
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { formatError } from '../controller/errors.js';
import { ensureTools } from '../providers/lab/apt-tools.js';
import { sshLabSync, startLab, type LabHost, type TestLab } from './helpers/lab.js';

const root = new URL('..', import.meta.url).pathname;
const captures = process.env.BERTH_CAPTURES ? resolve(root, process.env.BERTH_CAPTURES) : undefined;
const HOSTS = captures ? 3 : 2;
// Our own tmux server: the test never touches an operator's (or another test's) sessions.
const socket = `berth-ui-${process.pid}`;
const SPINNER = /[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏]/;
let lab: TestLab;

const tmux = (...args: string[]) => execFileSync('tmux', ['-L', socket, ...args], { encoding: 'utf8' });
const ssh = (host: LabHost, cmd: string) => sshLabSync(lab, host, cmd);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function ensureTmux(): Promise<void> {
  const t = await ensureTools(['tmux'], (l) => process.stderr.write(`  [tmux] ${l}\n`));
  if (!t.ok) throw new Error(formatError(t.error));
}

/**
 * Runs berth in a fresh 160x50 terminal and reads the screen until the command ended. Returns
 * every distinct screen seen while it ran, and the whole scrollback at the end.
 */
async function onTerminal(name: string, args: string[], timeoutMs = 120_000): Promise<{ frames: string[]; last: string; coloured: string }> {
  const session = `${name}-${process.pid}`;
  // tmux starts the command with its server's environment: take CI out explicitly.
  const cmd = `cd ${root} && env -u CI -u CONTINUOUS_INTEGRATION TERM=xterm-256color ${process.execPath} bin/berth.js ${args.join(' ')}; echo "EXIT=$?"; sleep 600`;
  tmux('new-session', '-d', '-s', session, '-x', '160', '-y', '50', cmd);
  const frames: string[] = [];
  const deadline = Date.now() + timeoutMs;
  try {
    for (;;) {
      const screen = tmux('capture-pane', '-p', '-t', session);
      if (frames[frames.length - 1] !== screen) frames.push(screen);
      // At the end: the whole scrollback, in case the end outgrew the screen.
      if (/^EXIT=\d+/m.test(screen)) return { frames, last: tmux('capture-pane', '-p', '-S', '-', '-t', session), coloured: tmux('capture-pane', '-p', '-e', '-S', '-', '-t', session) };
      if (Date.now() > deadline) throw new Error(`berth ${args.join(' ')} did not end in ${timeoutMs / 1000} s; screen:\n${screen}`);
      await sleep(250);
    }
  } finally {
    tmux('kill-session', '-t', session);
  }
}

const keep = (file: string, text: string) => {
  if (!captures) return;
  mkdirSync(captures, { recursive: true });
  writeFileSync(join(captures, file), text.replace(/\s+$/, '') + '\n');
};

function playbook(name: string, yaml: string): string {
  const path = join(lab.dir, `${name}.yml`);
  writeFileSync(path, yaml);
  return path;
}

test.before(async () => {
  await ensureTmux();
  lab = await startLab({ name: 'ui-tmux', hosts: HOSTS });
});

test('apply on a terminal: live rows while it runs, each play collapsed, then the recap', async () => {
  const pb = playbook('demo', [
    'name: demo',
    'plays:',
    '  - name: prepare',
    '    hosts: all',
    '    tasks:',
    '      - name: lay out /srv/app',
    '        file: { path: /srv/app, state: directory }',
    '      - name: write the config',
    '        copy: { content: "greeting=hello from {{inventory_hostname}}\\n", dest: /srv/app/app.conf }',
    '  - name: build',
    '    hosts: all',
    '    tasks:',
    '      - name: fetch sources',
    '        shell: "for i in 1 2 3; do echo fetching part $i of 3; sleep 1; done"',
    '      - name: compile',
    '        shell: "if [ $(hostname) = h2 ]; then sleep 4.5; else sleep 1.5; fi; echo compiled"',
    '      - name: smoke test',
    '        command: [cat, /srv/app/app.conf]',
    '',
  ].join('\n'));
  const hosts = lab.hosts.map((h) => h.name);
  const { frames, last } = await onTerminal('apply', ['apply', pb, '-i', lab.inventoryPath]);

  // While it runs: a spinner per host, the task it is on, how long it has taken, its output.
  // The last such frame: the hosts are well into the task by then.
  const mid = frames.filter((f) => hosts.every((h) => new RegExp(`${SPINNER.source} ${h} +fetch sources \\(shell\\) +\\d+(\\.\\d)? (ms|s)`).test(f))).pop();
  assert.ok(mid, `a frame with every host fetching:\n${frames.join('\n-----\n')}`);
  assert.match(mid!, new RegExp(`${SPINNER.source} apply demo\\.yml · ${HOSTS} hosts · \\d+(\\.\\d)? s`));
  assert.match(mid!, new RegExp(`PLAY build · ${HOSTS} hosts`));
  assert.match(mid!, /│ fetching part \d of 3/);
  assert.match(mid!, /✔ PLAY prepare/, 'the finished play is above the moving rows');
  // Later, hosts that finished collapse to one line while h2 still compiles.
  const late = frames.find((f) => new RegExp(`✔ h1 +changed 3 .*\\n(.*\\n)*${SPINNER.source} h2 +compile`).test(f));
  assert.ok(late, 'a frame with h1 done and h2 still compiling');

  // At the end: plays collapsed per host, the recap table, the slowest tasks, the result.
  assert.match(last, new RegExp(`✔ connected to ${HOSTS} of ${HOSTS} hosts in`));
  assert.match(last, new RegExp(`✔ PLAY prepare · ${HOSTS} hosts · .* · changed ${2 * HOSTS}`));
  assert.match(last, new RegExp(`✔ PLAY build · ${HOSTS} hosts · .* · changed ${3 * HOSTS}`));
  for (const h of hosts) {
    assert.match(last, new RegExp(`✔ ${h} +changed 2 +\\d`));
    assert.match(last, new RegExp(`✔ ${h} +changed 3 +\\d`));
    assert.match(last, new RegExp(`\\n  ${h} +0 +5 +0 +0 +0 +\\d+(\\.\\d)? s\\n`));
  }
  assert.match(last, /RECAP\n  host +ok changed +failed unreachable skipped +time\n/);
  assert.match(last, /SLOWEST TASKS\n +\d\.\d s h\d +(compile|fetch sources)\n/);
  assert.match(last, /SLOWEST TASKS\n +\d\.\d s h2 +compile\n/, `h2 compiles slowest:\n${last}`);
  assert.match(last, /✔ done in \d+(\.\d)? s\n+EXIT=0/);
  assert.not.match(last, SPINNER, 'no spinner left behind');
  keep(`apply-${HOSTS}-hosts.txt`, [`$ berth apply demo.yml -i <lab inventory>    (tmux 160x50, captured while it runs)`, mid!, '--- a few seconds later ---', late!, '--- at the end ---', last].map((f) => f.trim()).join('\n\n'));
});

test('plan on a terminal: the diff in colour and the summary line; a failure expands under its host', async () => {
  // h2 lacks the file the second task edits: there that task fails, even in check mode.
  for (const h of lab.hosts) if (h.name !== 'h2') ssh(h, 'echo mode=slow > /srv/app/extra.conf');
  const pb = playbook('plan', [
    'name: plan',
    'plays:',
    '  - name: config',
    '    hosts: all',
    '    tasks:',
    '      - name: write the config',
    '        copy: { content: "greeting=goodbye from {{inventory_hostname}}\\n", dest: /srv/app/app.conf }',
    '      - name: extend the config',
    '        lineinfile: { path: /srv/app/extra.conf, line: mode=fast }',
    '',
  ].join('\n'));
  const { last, coloured } = await onTerminal('plan', ['plan', pb, '-i', lab.inventoryPath]);
  assert.match(last, /✖ h2 +failed at "extend the config": \/srv\/app\/extra\.conf does not exist\n +set create: true to create it\n/, last);
  assert.match(last, /PLAN \(check mode: nothing was changed\)\n/);
  assert.match(last, /h1: 2 to change\n {2}~ write the config: update \/srv\/app\/app\.conf .*\(content\s+differs\)\n/);
  assert.match(last, / {6}-greeting=hello from h1\n {6}\+greeting=goodbye from h1\n/);
  assert.match(last, / {2}~ extend the config: edit \/srv\/app\/extra\.conf/);
  assert.match(last, /h2: 1 to change, 1 failed\n(.*\n)* {2}! extend the config: \/srv\/app\/extra\.conf does not exist\n/);
  assert.match(coloured, /\x1b\[32m\+greeting=goodbye from h1/, 'added lines are green');
  assert.match(coloured, /\x1b\[31m-greeting=hello from h1/, 'removed lines are red');
  assert.match(last, new RegExp(`${2 * HOSTS - 1} to change, 0 ok on ${HOSTS} hosts; 1 failed\\n`));
  assert.match(last, /✖ failed: a task failed on at least one host \(exit 1\) in .*\n+EXIT=1/);
  keep(`plan-${HOSTS}-hosts.txt`, last);
});

test('a rollout on a terminal: one section per batch, the hosts waiting below; a failed batch halts it (exit 4)', async () => {
  // The last host's batch fails: the rollout halts there.
  const last = lab.hosts[lab.hosts.length - 1].name;
  const pb = playbook('rollout', [
    'name: rollout',
    'plays:',
    '  - name: release',
    '    hosts: all',
    '    rollout: { serial: 1 }',
    '    tasks:',
    '      - name: deploy',
    `        shell: "echo deploying on $(hostname); sleep 2; [ $(hostname) != ${last} ] || { echo health check failed >&2; exit 1; }"`,
    '',
  ].join('\n'));
  const { frames, last: screen } = await onTerminal('rollout', ['apply', pb, '-i', lab.inventoryPath]);
  const mid = frames.find((f) => new RegExp(`batch 1 of ${HOSTS}\\n.*${SPINNER.source} h1 +deploy`).test(f) && /waiting for a later batch\n/.test(f));
  assert.ok(mid, `a frame with batch 1 running and the others waiting:\n${frames.join('\n-----\n')}`);
  assert.match(screen, new RegExp(`rollout halted: 1 host failed and no failed host is allowed`));
  assert.match(screen, new RegExp(`✖ ${last} +failed at "deploy"`));
  assert.match(screen, /rollout reverted or halted \(exit 4\) in .*\n+EXIT=4/, screen);
  keep(`rollout-${HOSTS}-hosts.txt`, [`$ berth apply rollout.yml -i <lab inventory>    (tmux 160x50, serial: 1, the last host fails)`, mid!, '--- at the end ---', screen].map((f) => f.trim()).join('\n\n'));
});

test.after(async () => {
  spawnSync('tmux', ['-L', socket, 'kill-server']);
  await lab?.down();
});

test.run();
