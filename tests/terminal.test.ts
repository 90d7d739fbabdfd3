// The operator's terminal takes no orders from a host: control sequences (ESC, CSI, OSC, C1, other
// C0 but tab and newline) in anything a host sends are shown escaped, as `\x1b`. A real agent
// (local transport) prints them in task output, a diff and a failure; the events reach the plain
// lines, --json and the live ink view. A hostile agent (a process speaking the protocol) puts
// them where a real one cannot: `berth ps` rows, `berth logs` lines, error messages.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { createElement } from 'react';
import { render } from 'ink-testing-library';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parse } from 'yaml';
import { ok } from '../controller/errors.js';
import { resolveInventory } from '../controller/inventory/resolve.js';
import { localTransport } from '../controller/local-transport.js';
import { applyPlaybook } from '../controller/run/apply.js';
import type { RunEvent } from '../controller/run/events.js';
import type { PlaybookShape } from '../controller/run/playbook-shape.js';
import { jsonReporter } from '../cli/report/json.js';
import { plainReporter } from '../cli/report/plain.js';
import { RunView } from '../cli/ui/RunView.js';
import { RunStore } from '../cli/ui/store.js';
import { hostileAgent } from './helpers/hostile-agent.js';

const dir = mkdtempSync(join(tmpdir(), 'berth-terminal-'));
process.env.BERTH_HOST_DIR = join(dir, 'berth');

/** Any control character a terminal acts on: C0 but tab and newline, DEL, C1. */
const CONTROL = /[\x00-\x08\x0b-\x1f\x7f-\x9f]/;
const shown = (s: string) => JSON.stringify(CONTROL.exec(s)?.[0]) + ' at ' + s.slice(Math.max(0, s.search(CONTROL) - 40), s.search(CONTROL) + 20);

let events: RunEvent[] = [];

test.before(async () => {
  const inventory = resolveInventory(parse('hosts:\n  h1: {}\n'), '<inline>');
  const yaml = `
plays:
  - hosts: all
    tasks:
      - name: prints sequences
        shell: |
          printf 'red \\033[31mRED\\033[0m\\n'
          printf 'title \\033]0;pwned\\007\\n'
          printf 'c1 \\302\\233 2J\\n'
          printf 'cr a\\rb\\n'
      - name: writes a file with one
        copy: { dest: "${dir}/f.txt", content: "clear \\e[2J here\\n" }
      - name: fails saying one
        shell: "printf 'bad \\\\033]52;c;ZXZpbA==\\\\007\\\\n' >&2; exit 1"
`;
  const code = await applyPlaybook({
    playbookPath: join(dir, 'playbook.yml'),
    playbook: parse(yaml) as PlaybookShape,
    where: (p) => `playbook.yml:${p.join('.')}`,
    inventory,
    extraVars: {},
    check: false,
    diff: true,
    forks: 1,
    sink: (e) => events.push(e),
    signal: new AbortController().signal,
    connect: async () => ok(localTransport()),
  });
  assert.is(code, 1);
});

test('the events of a run carry what the host printed, escaped', () => {
  const lines = events.flatMap((e) => (e.type === 'output' ? [e.line] : []));
  assert.equal(lines, ['red \\x1b[31mRED\\x1b[0m', 'title \\x1b]0;pwned\\x07', 'c1 \\x9b 2J', 'cr a\\x0db', 'bad \\x1b]52;c;ZXZpbA==\\x07']);
  const diff = events.flatMap((e) => (e.type === 'task-end' ? e.changes.map((c) => c.diff ?? '') : [])).join('');
  assert.match(diff, /\+clear \\x1b\[2J here/);
  const failed = events.find((e) => e.type === 'task-end' && e.status === 'failed');
  assert.match(failed?.type === 'task-end' ? (failed.message ?? '') : '', /bad \\x1b\]52;c;ZXZpbA==\\x07/);
});

test('plain lines show them escaped, and hold no control character', () => {
  const out = new PassThrough();
  let text = '';
  out.on('data', (d) => (text += d));
  const sink = plainReporter({ verbose: true, color: false, out, now: () => 0 });
  for (const e of events) sink(e);
  assert.not.ok(CONTROL.test(text), shown(text));
  assert.ok(text.includes('title \\x1b]0;pwned\\x07'), text);
  assert.ok(text.includes('clear \\x1b[2J here'), text);
  assert.ok(text.includes('bad \\x1b]52;c;ZXZpbA==\\x07'), text);
});

test('--json holds no control character either, and parses back to the escaped text', () => {
  const out = new PassThrough();
  let text = '';
  out.on('data', (d) => (text += d));
  const sink = jsonReporter(out);
  for (const e of events) sink(e);
  assert.not.ok(CONTROL.test(text.replace(/\n/g, '')), shown(text));
  const back = text.trim().split('\n').map((l) => JSON.parse(l) as RunEvent);
  assert.ok(back.some((e) => e.type === 'output' && e.line === 'c1 \\x9b 2J'));
  // JSON.stringify itself leaves DEL and C1 raw: the reporter writes them as \u escapes, same data.
  let one = '';
  const o2 = new PassThrough();
  o2.on('data', (d) => (one += d));
  jsonReporter(o2)({ type: 'warning', code: 'x', message: 'csi \u009b2J del \u007f' });
  assert.not.ok(CONTROL.test(one.trimEnd()), shown(one));
  assert.is((JSON.parse(one) as { message: string }).message, 'csi \u009b2J del \u007f');
});

test('the live view shows them escaped', async () => {
  const store = new RunStore(() => 0, 0);
  const app = render(createElement(RunView, { store, tickMs: 0 }));
  // Mid-run: the failing task's output in its row; then the end, with the failure's lines.
  const failing = events.findIndex((e) => e.type === 'task-end' && e.status === 'failed');
  for (const e of events.slice(0, failing)) store.push(e);
  store.flush();
  await new Promise((r) => setImmediate(r));
  const live = app.lastFrame() ?? '';
  for (const e of events.slice(failing)) store.push(e);
  store.flush();
  await new Promise((r) => setImmediate(r));
  const end = app.frames.join('\n');
  app.unmount();
  // ink's own colours are SGR sequences; nothing else may reach the terminal.
  const own = (s: string) => s.replace(/\x1b\[[0-9;]*m/g, '');
  assert.not.ok(CONTROL.test(own(live)), shown(own(live)));
  assert.not.ok(CONTROL.test(own(end)), shown(own(end)));
  assert.ok(own(live).includes('bad \\x1b]52;c;ZXZpbA==\\x07'), own(live));
  assert.ok(own(end).includes('bad \\x1b]52;c;ZXZpbA==\\x07'), own(end));
});

test('berth ps and berth logs: what a hostile host says reaches the controller escaped', async () => {
  const agent = await hostileAgent({
    'services.ps': { result: [{ playbook: 'shop', service: 'web\x1b]0;x\x07', replica: 1, name: 'shop-web-1', id: 'abc', state: 'running\x1b[2J', status: 'Up', image: 'img\x9b31m', release: 'r1', ports: [], job: false, oneoff: false, created: '2026-01-01T00:00:00Z' }] },
    'services.logs': { events: [{ kind: 'container-output', task: -1, container: 'web.1', stream: 'stdout', line: 'log \x1b]8;;http://evil\x07link\x1b]8;;\x07' }], result: { lines: 1 } },
    'services.exec': { error: { code: 'services.failed', message: 'no \x1b[1mway', detail: 'tail \x07' } },
  });
  try {
    const ps = await agent.client.request({ method: 'services.ps', params: { playbook: 'shop' } }).done;
    assert.ok(ps.ok);
    const row = (ps as { result: Array<Record<string, string>> }).result[0];
    assert.is(row.service, 'web\\x1b]0;x\\x07');
    assert.is(row.state, 'running\\x1b[2J');
    assert.is(row.image, 'img\\x9b31m');
    const lines: string[] = [];
    await agent.client.request({ method: 'services.logs', params: { playbook: 'shop', service: 'web', follow: false } }, (e) => e.kind === 'container-output' && lines.push(e.line)).done;
    assert.equal(lines, ['log \\x1b]8;;http://evil\\x07link\\x1b]8;;\\x07']);
    const ex = await agent.client.request({ method: 'services.exec', params: { playbook: 'shop', service: 'web', cmd: ['true'] } }).done;
    assert.ok(!ex.ok && ex.error.message === 'no \\x1b[1mway' && ex.error.detail === 'tail \\x07', JSON.stringify(ex));
  } finally {
    agent.close();
  }
});

test.after(() => rmSync(dir, { recursive: true, force: true }));
test.run();
