// Which Node runs the agent on a host: the host's own when it is 18 or newer (Debian bookworm's
// nodejs package is 18), so that only the agent is pushed; berth's runtime otherwise, including
// on a host whose `node` is too old. Checked on the host itself: the agent's process image.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { agentArtifact } from '../controller/agent/artifacts.js';
import { berth, type Ev, type Run } from './helpers/berth-cli.js';
import { sshLabSync, startLab, type TestLab } from './helpers/lab.js';

let lab: TestLab;
const host = (name: string) => lab.hosts.find((h) => h.name === name)!;
const ssh = (name: string, cmd: string) => sshLabSync(lab, host(name), cmd);

test.before(async () => {
  // h1 as a Debian server with nodejs installed; h2 with a `node` too old for the agent.
  lab = await startLab({ name: 'host-node', hosts: 2, node: { h1: 'debian' } });
  ssh('h2', 'printf "#!/bin/sh\\necho v16.20.2\\n" > /usr/local/bin/node && chmod 755 /usr/local/bin/node');
});

test.after(async () => {
  await lab?.down();
});

// The agent runs `sh` directly (no shell in between), so sh's parent is the agent's Node.
const PLAYBOOK = 'name: which-node\nplays:\n  - hosts: all\n    tasks:\n      - command: [sh, -c, "readlink /proc/$PPID/exe"]\n        changed_when: false\n';

async function apply(): Promise<{ run: Run; ready: Record<string, Ev>; exe: Record<string, string> }> {
  const pb = join(lab.dir, 'which-node.yml');
  writeFileSync(pb, PLAYBOOK);
  const run = await berth(['apply', pb, '-i', lab.inventoryPath, '--json']);
  assert.is(run.code, 0, run.stderr + run.stdout);
  const ready = Object.fromEntries(run.events.filter((e) => e.type === 'host-ready').map((e) => [e.host, e]));
  const exe = Object.fromEntries(run.events.filter((e) => e.type === 'output').map((e) => [e.host, e.line]));
  return { run, ready, exe };
}

test("a host with Debian's nodejs (Node 18) runs the agent on /usr/bin/node: only the agent is pushed", async () => {
  assert.match(ssh('h1', 'node --version'), /^v18\./);
  const first = await apply();
  const h1 = first.ready.h1!;
  assert.equal(h1.pushed, { agent: true, node: false });
  assert.is(h1.uploadedBytes, agentArtifact().bytes.length, 'the bytes sent are the agent bundle and nothing else');
  assert.match(h1.node, /^18\./);
  assert.is(first.exe.h1, '/usr/bin/node');
  assert.is(ssh('h1', 'test -e /var/lib/berth/node && echo pushed || echo none'), 'none');

  const second = await apply();
  assert.equal([second.ready.h1!.pushed, second.ready.h1!.uploadedBytes], [{ agent: false, node: false }, 0]);
  assert.is(second.exe.h1, '/usr/bin/node');
});

test('a host whose node is older than 18 gets berth\'s runtime pushed and runs the agent on it', async () => {
  assert.is(ssh('h2', 'node --version'), 'v16.20.2');
  ssh('h2', 'rm -rf /var/lib/berth');
  const { ready, exe } = await apply();
  assert.equal(ready.h2!.pushed, { agent: true, node: true });
  assert.ok(ready.h2!.uploadedBytes > agentArtifact().bytes.length, 'the runtime was sent too');
  assert.is(ready.h2!.node, process.versions.node);
  assert.match(exe.h2!, /^\/var\/lib\/berth\/node\/[0-9a-f]{64}\/node$/);
});

test.run();
