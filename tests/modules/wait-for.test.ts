// `wait_for`: ok once the condition holds (never "changed"), a clear failure on timeout, and a
// single look in check mode.
import { writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { localAgentFixture, ran, treeHash } from './run-tasks.js';

const { work, agent } = localAgentFixture(test, 'waitfor');

const listen = (port = 0): Promise<Server> =>
  new Promise((resolve) => {
    const s = createServer((c) => c.end());
    s.listen(port, '127.0.0.1', () => resolve(s));
  });
const portOf = (s: Server) => (s.address() as { port: number }).port;
const wf = (params: Record<string, unknown>) => [{ module: 'wait_for', params }];

test('a port that opens while waiting: ok, not changed', async () => {
  const probe = await listen();
  const port = portOf(probe);
  await new Promise((r) => probe.close(r));
  let server: Server | undefined;
  setTimeout(async () => (server = await listen(port)), 700);
  const t0 = Date.now();
  const r = ran(await agent.run(wf({ port, timeout: '10s', sleep: 0.1 })));
  assert.equal([r.result.ok, r.result.changed, r.result.failed], [1, 0, 0], JSON.stringify(r.tasks));
  assert.ok(Date.now() - t0 >= 600, 'it waited for the port');
  await new Promise((res) => server?.close(res));
});

test('state stopped holds for a closed port; a port that never opens fails after the timeout', async () => {
  const probe = await listen();
  const port = portOf(probe);
  await new Promise((r) => probe.close(r));
  assert.is(ran(await agent.run(wf({ port, state: 'stopped', timeout: 2 }))).result.ok, 1);
  const r = ran(await agent.run(wf({ port, timeout: '600ms', sleep: '100ms' })));
  assert.is(r.result.failed, 1);
  assert.match(r.tasks[0].message ?? '', new RegExp(`timed out after 0.6s waiting for port 127.0.0.1:${port} to accept connections`));
});

test('a file that appears and a file whose content comes to match', async () => {
  const f = join(work, 'ready');
  setTimeout(() => writeFileSync(f, 'starting\n'), 300);
  setTimeout(() => writeFileSync(f, 'starting\nlistening on 8080\n'), 800);
  const r = ran(await agent.run(wf({ path: f, search_regex: '^listening on \\d+$', timeout: '10s', sleep: 0.1 })));
  assert.equal([r.result.ok, r.result.failed], [1, 0], JSON.stringify(r.tasks));
  const gone = ran(await agent.run(wf({ path: join(work, 'never'), state: 'absent', timeout: 1 })));
  assert.is(gone.result.ok, 1);
});

test('check mode looks once: ok when it holds, a pending change when not, and never waits or writes', async () => {
  const server = await listen();
  const before = treeHash(work);
  assert.is(ran(await agent.run(wf({ port: portOf(server) }), { check: true })).result.ok, 1);
  const t0 = Date.now();
  const r = ran(await agent.run(wf({ path: join(work, 'not-yet'), timeout: '30s' }), { check: true }));
  assert.is(r.result.changed, 1);
  assert.ok(Date.now() - t0 < 5000, 'did not wait');
  assert.is(treeHash(work), before);
  await new Promise((res) => server.close(res));
});

test('exactly one of port and path, and durations are checked', async () => {
  const both = ran(await agent.run(wf({ port: 1, path: '/x' })));
  assert.match(both.tasks[0].message ?? '', /exactly one of port or path/);
  const bad = ran(await agent.run(wf({ port: 1, timeout: 'soon' })));
  assert.match(bad.tasks[0].message ?? '', /timeout "soon" is not a duration/);
});

test.run();
