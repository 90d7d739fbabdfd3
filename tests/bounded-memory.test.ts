// Bounded memory: a `--diff` of a 20,000-line change stays far below 100 MB on the agent (in a
// child process, measured), and nothing a host sends can make the controller hold more than a
// bounded amount: a giant output line, endless output for `berth logs`, the same event sent
// again and again, endless output of a command the controller runs on the host.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parse } from 'yaml';
import { ok } from '../controller/errors.js';
import { resolveInventory } from '../controller/inventory/resolve.js';
import { localTransport } from '../controller/local-transport.js';
import { applyPlaybook } from '../controller/run/apply.js';
import type { RunEvent } from '../controller/run/events.js';
import type { PlaybookShape } from '../controller/run/playbook-shape.js';
import { emptyModel, PROGRESS_BARS, reduce } from '../cli/report/model.js';
import { hostileAgent, hostileTransport } from './helpers/hostile-agent.js';

const root = new URL('..', import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'berth-memory-'));
process.env.BERTH_HOST_DIR = join(dir, 'berth');

/**
 * Runs a fixture in its own process (V8 heap limit in MB, if any) and parses the JSON line it
 * prints. A watchdog kills it past 1.5 GB resident: the code under test must not take the machine down.
 */
function child(fixture: string, args: string[], heapMB?: number): Promise<{ status: number | null; out: Record<string, number | string | boolean>; stderr: string }> {
  const argv = [...(heapMB ? [`--max-old-space-size=${heapMB}`] : []), '--import', 'tsx', join(root, 'tests/fixtures/memory', fixture), ...args];
  const p = spawn(process.execPath, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  p.stdout.on('data', (d) => (stdout += d));
  p.stderr.on('data', (d) => (stderr = (stderr + d).slice(-2000)));
  const watch = setInterval(() => {
    const rss = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${p.pid}/status`, 'utf8'))?.[1] ?? 0) * 1024;
    if (rss > 1.5e9) (p.kill('SIGKILL'), (stderr += `\nkilled by the test at ${Math.round(rss / 1e6)} MB resident`));
  }, 50);
  const timer = setTimeout(() => p.kill('SIGKILL'), 120_000);
  return new Promise((resolve) =>
    p.on('close', (status, signal) => {
      clearInterval(watch);
      clearTimeout(timer);
      const last = stdout.trim().split('\n').pop() ?? '';
      resolve({ status, out: last.startsWith('{') ? JSON.parse(last) : {}, stderr: `${signal ?? ''} ${stderr.slice(-600)}` });
    }),
  );
}

test('--diff of a 20,000-line change takes the agent nowhere near 100 MB', async () => {
  const r = await child('diff-20k.ts', []);
  assert.is(r.status, 0, r.stderr);
  const grewMB = Number(r.out.grewBytes) / 1e6;
  console.log(`  20,000-line diff: ${r.out.ms} ms, +${grewMB.toFixed(1)} MB, ${r.out.lines} lines`);
  assert.ok(grewMB < 100, `the diff took ${grewMB.toFixed(0)} MB`);
  assert.ok(Number(r.out.lines) > 40_000, `a whole diff, not a note: ${r.out.head}`);
});

test('an output line of 15 MB from a host reaches the controller cut to a bounded size', async () => {
  const agent = await hostileAgent({ run: { line: { bytes: 15 << 20 }, result: { ok: 0, changed: 0, failed: 0, skipped: 0, cancelled: false } } });
  try {
    const lines: string[] = [];
    const res = await agent.client.request({ method: 'run', params: { host: 'h', check: false, diff: false, tasks: [], handlers: [], vars: {}, secrets: [] } }, (e) => e.kind === 'output' && lines.push(e.line)).done;
    assert.ok(res.ok, JSON.stringify(res));
    assert.is(lines.length, 1);
    assert.ok(lines[0].length <= 65 * 1024, `${lines[0].length} characters kept`);
    assert.match(lines[0], /\(cut by berth: \d+ more characters\)$/);
  } finally {
    agent.close();
  }
});

test('berth logs of a host streaming 200 MB: every line is shown, on a 96 MB heap', async () => {
  const r = await child('logs-flood.ts', [String(200 * 1024)], 96);
  assert.is(r.status, 0, r.stderr);
  assert.equal({ ok: r.out.ok, count: r.out.count }, { ok: true, count: 200 * 1024 });
});

test('a host that sends the same task-end again and again is heard once, and a row keeps few progress bars', async () => {
  const inventory = resolveInventory(parse('hosts:\n  h1: {}\n'), '<inline>');
  const end = { kind: 'task-end', task: 0, status: 'changed', changes: [{ summary: 'again' }], durationMs: 1 };
  const events: RunEvent[] = [];
  const code = await applyPlaybook({
    playbookPath: join(dir, 'playbook.yml'),
    playbook: parse('plays:\n  - hosts: all\n    tasks:\n      - command: ["true"]\n') as PlaybookShape,
    where: (p) => p.join('.'),
    inventory,
    extraVars: {},
    check: false,
    diff: false,
    forks: 1,
    sink: (e) => events.push(e),
    signal: new AbortController().signal,
    connect: async () => ok(hostileTransport({ run: { events: [{ kind: 'task-start', task: 0, name: 'x', module: 'command' }, ...Array.from({ length: 1000 }, (_, i) => ({ kind: 'progress', task: 0, label: `bar ${i}`, done: i }))], repeat: { event: end, times: 50_000 }, result: { ok: 0, changed: 1, failed: 0, skipped: 0, cancelled: false } } })),
  });
  assert.is(code, 0);
  assert.is(events.filter((e) => e.type === 'task-end').length, 1);
  // What the live view and plain lines keep of the task while it runs: a bounded row.
  const model = emptyModel(0);
  for (const e of events.slice(0, events.findIndex((x) => x.type === 'task-end'))) reduce(model, e, 0);
  assert.is(model.hosts.get('h1')?.task?.progress.length, PROGRESS_BARS);
});

test('a command the controller runs on a host keeps a bounded tail of endless output', async () => {
  const t = localTransport();
  const r = await t.exec('head -c 64000000 /dev/zero; echo done >&2');
  t.close();
  assert.ok(r.ok);
  if (!r.ok) return;
  assert.ok(r.value.stdout.length <= 1 << 20, `${r.value.stdout.length} bytes kept`);
  assert.is(r.value.stderr.toString(), 'done\n');
});

test.after(() => rmSync(dir, { recursive: true, force: true }));
test.run();
