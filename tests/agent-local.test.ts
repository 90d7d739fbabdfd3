// The agent protocol end to end over the local transport (`sh -c` on this machine): bootstrap,
// upload by hash, framing, ordering, cancellation and errors as values. The same code runs over
// SSH in tests/agent-ssh.test.ts.
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { agentArtifact } from '../controller/agent/artifacts.js';
import { startAgent } from '../controller/agent/start-agent.js';
import { localTransport } from '../controller/local-transport.js';
import { BLOB_CHUNK_BYTES, RAW_BLOB_MIN_BYTES, type AgentEvent, type HostPlan, type RunResult } from '../protocol/agent-protocol.js';
import { BlobRegistry } from '../controller/blobs.js';

const dir = mkdtempSync(join(tmpdir(), 'berth-agent-'));
process.env.BERTH_HOST_DIR = dir;
const transport = localTransport();

const plan = (tasks: HostPlan['tasks'], handlers: HostPlan['handlers'] = [], check = false): HostPlan => ({ host: 'local', check, diff: false, tasks, handlers, vars: {}, secrets: [] });

test('first start uploads the agent, the second uploads nothing', async () => {
  const first = await startAgent(transport, { become: false, host: 'local' });
  assert.ok(first.ok, JSON.stringify(!first.ok && first.error));
  if (!first.ok) return;
  assert.is(first.value.pushed.agent, true);
  assert.is(first.value.uploadedBytes, agentArtifact().bytes.length);
  assert.is(first.value.hello.facts.user.uid, process.getuid?.());
  first.value.client.bye();
  const second = await startAgent(transport, { become: false, host: 'local' });
  assert.ok(second.ok);
  if (!second.ok) return;
  assert.is(second.value.uploadedBytes, 0);
  assert.is(second.value.pushed.agent, false);
  second.value.client.bye();
});

test('a corrupted agent file is detected by its hash and replaced', async () => {
  const file = join(dir, 'agent', `${agentArtifact().sha256}.mjs`);
  writeFileSync(file, 'garbage that is not the agent');
  const r = await startAgent(transport, { become: false, host: 'local' });
  assert.ok(r.ok);
  if (!r.ok) return;
  assert.is(r.value.pushed.agent, true);
  assert.ok(r.value.uploadedBytes > 0);
  assert.equal(readdirSync(join(dir, 'agent')).filter((f) => f.startsWith('.upload')), [], 'no partial upload left behind');
  r.value.client.bye();
});

test('a plan runs task by task, streaming output, and notified handlers run once at the end', async () => {
  const r = await startAgent(transport, { become: false, host: 'local' });
  if (!r.ok) return assert.unreachable(r.error.message);
  const events: AgentEvent[] = [];
  const marker = join(dir, 'handler-ran');
  const { done } = r.value.client.request(
    {
      method: 'run',
      params: plan(
        [
          { index: 0, name: 'say', module: 'command', params: ['echo', 'hello from the host'], notify: ['h'] },
          { index: 1, name: 'again', module: 'command', params: 'true', notify: ['h'] },
          { index: 2, name: 'skip', module: 'command', params: { argv: ['false'], creates: dir } },
        ],
        [{ index: 3, name: 'h', module: 'command', params: ['sh', '-c', `echo x >> ${marker}`] }],
      ),
    },
    (e) => events.push(e),
  );
  const res = await done;
  assert.ok(res.ok);
  assert.equal((res as { result: RunResult }).result, { ok: 1, changed: 3, failed: 0, skipped: 0, cancelled: false });
  const out = events.filter((e) => e.kind === 'output');
  assert.equal(out.map((e) => e.kind === 'output' && e.line), ['hello from the host']);
  const ends = events.flatMap((e) => (e.kind === 'task-end' ? [[e.task, e.status, !!e.handler]] : []));
  assert.equal(ends, [[0, 'changed', false], [1, 'changed', false], [2, 'ok', false], [3, 'changed', true]]);
  r.value.client.bye();
});

test('a failing task stops the host plan and reports the output tail; check mode changes nothing', async () => {
  const r = await startAgent(transport, { become: false, host: 'local' });
  if (!r.ok) return assert.unreachable(r.error.message);
  const events: AgentEvent[] = [];
  const res = await r.value.client.request(
    { method: 'run', params: plan([
      { index: 0, name: 'boom', module: 'command', params: ['sh', '-c', 'echo bad news >&2; exit 3'] },
      { index: 1, name: 'never', module: 'command', params: 'true' },
    ]) },
    (e) => events.push(e),
  ).done;
  assert.ok(res.ok);
  assert.equal((res as { result: RunResult }).result, { ok: 0, changed: 0, failed: 1, skipped: 0, cancelled: false });
  const end = events.find((e) => e.kind === 'task-end');
  assert.ok(end && end.kind === 'task-end' && /exited with 3/.test(end.message ?? '') && /bad news/.test(end.message ?? ''));
  assert.not.ok(events.some((e) => e.kind === 'task-start' && e.task === 1));

  const file = join(dir, 'check-mode-file');
  const check = await r.value.client.request({ method: 'run', params: plan([{ index: 0, name: 'touch', module: 'command', params: ['touch', file] }], [], true) }).done;
  assert.ok(check.ok);
  assert.equal((check as { result: RunResult }).result.changed, 1, 'check reports the change');
  assert.not.ok(readdirSync(dir).includes('check-mode-file'), 'check mode did not run the command');
  r.value.client.bye();
});

test('10 000 events arrive complete and in order', async () => {
  const r = await startAgent(transport, { become: false, host: 'local' });
  if (!r.ok) return assert.unreachable(r.error.message);
  const seqs: number[] = [];
  const res = await r.value.client.request({ method: 'flood', params: { count: 10_000, payloadBytes: 64 } }, (e) => {
    if (e.kind === 'progress' && e.seq !== undefined) seqs.push(e.seq);
  }).done;
  assert.ok(res.ok);
  assert.is(seqs.length, 10_000);
  assert.ok(seqs.every((s, i) => s === i), 'in order');
  r.value.client.bye();
});

test('cancel stops after the current task; a killed agent fails pending requests as values', async () => {
  const r = await startAgent(transport, { become: false, host: 'local' });
  if (!r.ok) return assert.unreachable(r.error.message);
  const started: number[] = [];
  const req = r.value.client.request(
    { method: 'run', params: plan([
      { index: 0, name: 'slow', module: 'command', params: ['sleep', '0.5'] },
      { index: 1, name: 'next', module: 'command', params: 'true' },
    ]) },
    (e) => e.kind === 'task-start' && started.push(e.task),
  );
  setTimeout(() => r.value.client.cancel(req.id), 100);
  const res = await req.done;
  assert.ok(res.ok);
  assert.equal((res as { result: RunResult }).result, { ok: 0, changed: 1, failed: 0, skipped: 0, cancelled: true });
  assert.equal(started, [0]);

  const pid = r.value.hello.pid;
  const pending = r.value.client.request({ method: 'run', params: plan([{ index: 0, name: 'long', module: 'command', params: ['sleep', '5'] }]) }).done;
  process.kill(pid, 'SIGKILL');
  const lost = await pending;
  assert.not.ok(lost.ok);
  assert.is(!lost.ok && lost.error.code, 'agent.lost');
});

test('content of every size arrives byte for byte (small as one base64 frame, big as raw frames) and is checked against its hash', async () => {
  const r = await startAgent(transport, { become: false, host: 'local' });
  if (!r.ok) return assert.unreachable(r.error.message);
  const blobs = new BlobRegistry();
  r.value.client.blobs = blobs;
  const out = mkdtempSync(join(tmpdir(), 'berth-blobs-'));
  // Around the raw threshold and the chunk size; random bytes hold newlines and invalid UTF-8.
  const sizes = [0, 10, RAW_BLOB_MIN_BYTES - 1, RAW_BLOB_MIN_BYTES, BLOB_CHUNK_BYTES, 3 * BLOB_CHUNK_BYTES + 5];
  const contents = sizes.map((n) => randomBytes(n));
  const tasks = contents.map((c, i) => ({ index: i, name: `copy ${c.length}`, module: 'copy', params: { dest: join(out, `f${i}`), ...blobs.add(c) } }));
  const res = await r.value.client.request({ method: 'run', params: plan(tasks) }).done;
  assert.ok(res.ok, JSON.stringify(res));
  assert.equal((res as { result: RunResult }).result, { ok: 0, changed: sizes.length, failed: 0, skipped: 0, cancelled: false });
  contents.forEach((c, i) => assert.ok(readFileSync(join(out, `f${i}`)).equals(c), `${c.length} bytes arrived intact`));
  assert.is(blobs.served, sizes.reduce((a, b) => a + b, 0), 'each sent once');

  // Content that does not match its hash (changed under the registry's feet) is refused and
  // leaves no partial file in the blob store.
  const big = randomBytes(2 * BLOB_CHUNK_BYTES);
  const sha = blobs.add(big);
  big[big.length - 1] ^= 1;
  const bad = await r.value.client.request({ method: 'run', params: plan([{ index: 0, name: 'copy', module: 'copy', params: { dest: join(out, 'bad'), ...sha } }]) }).done;
  assert.ok(bad.ok);
  assert.is((bad as { result: RunResult }).result.failed, 1);
  assert.not.ok(existsSync(join(out, 'bad')));
  assert.equal(readdirSync(join(dir, 'blobs')).filter((f) => f.startsWith(sha.sha256)), [], 'no blob and no temp file kept');
  r.value.client.bye();
  rmSync(out, { recursive: true, force: true });
});

test.after(() => {
  transport.close();
  rmSync(dir, { recursive: true, force: true });
});

test.run();
