// Secrets, run for real: the controller renders plans and real agents run them (through the
// local transport, confined to a temp dir). A host is sent only the secrets its own tasks use
// (read off the wire), masking never breaks an event, multi-line secrets are masked line by
// line, a diff of content made from a secret is one line, and `command:` strings keep their `$`.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parse } from 'yaml';
import { ok } from '../controller/errors.js';
import { resolveInventory, type ResolvedHost } from '../controller/inventory/resolve.js';
import { localTransport } from '../controller/local-transport.js';
import { applyPlaybook } from '../controller/run/apply.js';
import type { RunEvent } from '../controller/run/events.js';
import type { PlaybookShape } from '../controller/run/playbook-shape.js';
import type { HostTransport } from '../controller/transport.js';
import type { HostPlan } from '../protocol/agent-protocol.js';

const dir = mkdtempSync(join(tmpdir(), 'berth-secrets-'));
process.env.BERTH_HOST_DIR = join(dir, 'berth');

const inventory = resolveInventory(parse(`hosts:\n  h1: {}\n  h2: {}\n`), '<inline>');

/** A local transport that keeps, per host, every text frame the controller wrote to the agent. */
function recording(host: ResolvedHost, wire: Map<string, string[]>): HostTransport {
  const t = localTransport();
  const sent = wire.get(host.name) ?? [];
  wire.set(host.name, sent);
  return {
    get bytesSent() {
      return t.bytesSent;
    },
    exec: (c, o) => t.exec(c, o),
    async spawn(command) {
      const ch = await t.spawn(command);
      if (!ch.ok) return ch;
      const inner = ch.value;
      return ok({ ...inner, write: (d: string | Buffer) => (sent.push(d.toString()), inner.write(d)) });
    },
    close: () => t.close(),
  };
}

async function run(yaml: string, secretVars: Record<string, string>, extra: Partial<Parameters<typeof applyPlaybook>[0]> = {}) {
  const events: RunEvent[] = [];
  const wire = new Map<string, string[]>();
  const code = await applyPlaybook({
    playbookPath: join(dir, 'playbook.yml'),
    playbook: parse(yaml) as PlaybookShape,
    where: (p) => `playbook.yml:${p.join('.')}`,
    inventory,
    extraVars: { dir },
    secretVars,
    check: false,
    diff: false,
    forks: 5,
    // Every event as a reporter would write it with --json: it must survive the round trip.
    sink: (e) => events.push(JSON.parse(JSON.stringify(e))),
    signal: new AbortController().signal,
    connect: async (host) => ok(recording(host, wire)),
    ...extra,
  });
  return { code, events, wire };
}

/** The run plans a host was sent, as they crossed the wire. */
const plansSent = (frames: string[]): HostPlan[] =>
  frames.flatMap((f) => f.split('\n')).flatMap((line) => {
    try {
      const frame = JSON.parse(line) as { t?: string; method?: string; params?: HostPlan };
      return frame.t === 'req' && frame.method === 'run' && frame.params ? [frame.params] : [];
    } catch {
      return [];
    }
  });

const outputs = (events: RunEvent[], host = 'h1') => events.flatMap((e) => (e.type === 'output' && e.host === host ? [e.line] : []));

test('secrets "42", "type" and "ok" leave every event whole, and are masked where they show', async () => {
  // 43 tasks: one event carries `task: 42`, a number that serialized masking would have corrupted.
  const { code, events } = await run(
    `
plays:
  - hosts: h1
    tasks:
      - command: [echo, "{{a}} {{b}} {{c}}"]
      - command: ["true"]
        loop: "{{range}}"
`,
    { a: '42', b: 'type', c: 'ok' },
    { extraVars: { dir, range: Array.from({ length: 42 }, (_, i) => i) } },
  );
  assert.is(code, 0);
  assert.ok(events.every((e) => typeof e.type === 'string' && !e.type.includes('*')), 'every event keeps its type');
  assert.ok(events.some((e) => e.type === 'task-start' && e.task === 42), 'the number 42 is left alone');
  assert.equal(outputs(events), ['******** ******** ********']);
  const ends = events.flatMap((e) => (e.type === 'task-end' ? [e.status] : []));
  assert.is(ends.length, 43);
  assert.ok(ends.every((s) => s === 'changed'), ends.join(','));
  const recap = events.find((e) => e.type === 'recap');
  assert.equal(recap?.type === 'recap' && recap.hosts.h1.changed, 43);
});

test('each host is sent only the secrets its own tasks use, on the wire', async () => {
  const { code, wire } = await run(
    `
plays:
  - hosts: all
    tasks:
      - command: [echo, "shared {{common_secret}}"]
  - hosts: h2
    tasks:
      - command: [echo, "only h2 {{b_secret}}"]
      - command: ["true"]
        register: probe
        when: when_secret == "s-when"
      - command: [echo, "deferred {{probe.rc}} {{templated_secret}}"]
`,
    { common_secret: 'common-AAAA', b_secret: 'only-for-h2-BBBB', templated_secret: 'tpl-CCCC', when_secret: 's-when', unused_secret: 'nobody-DDDD' },
  );
  assert.is(code, 0);
  const h1 = wire.get('h1')!.join('');
  const h2 = wire.get('h2')!.join('');
  const h1Plans = plansSent(wire.get('h1')!);
  const h2Plans = plansSent(wire.get('h2')!);
  assert.is(h1Plans.length, 1);
  assert.is(h2Plans.length, 2);
  assert.equal(h1Plans[0].secrets, ['common-AAAA']);
  for (const s of ['only-for-h2-BBBB', 'tpl-CCCC', 's-when', 'nobody-DDDD']) assert.not.ok(h1.includes(s), `h1 was sent ${s}`);
  assert.not.ok('b_secret' in h1Plans[0].vars, 'h1 has no var of the secret');
  // h2's second play: one rendered task, one template the agent renders, one condition it evaluates.
  assert.equal([...h2Plans[1].secrets].sort(), ['only-for-h2-BBBB', 's-when', 'tpl-CCCC']);
  assert.is(h2Plans[1].vars.templated_secret, 'tpl-CCCC');
  assert.is(h2Plans[1].vars.when_secret, 's-when');
  assert.not.ok(h2.includes('nobody-DDDD'), 'a secret no task uses goes nowhere');
});

test('a multi-line secret is masked line by line', async () => {
  const key = '-----BEGIN TEST KEY-----\r\nMIIBOgIBAAJBAKj34GkxFhD90vcNLYLInFEX\n  indented-line-of-the-key\n}\n-----END TEST KEY-----';
  // The key reaches the shell inside a here-document, and comes back line by line.
  const r = await run(
    `
plays:
  - hosts: h1
    tasks:
      - shell: |
          cat <<'EOF' | tr -d '\\r'
          {{key}}
          EOF
          echo done
`,
    { key },
  );
  const lines = outputs(r.events);
  assert.ok(lines.includes('done'), lines.join('|'));
  const text = JSON.stringify(r.events);
  for (const part of ['MIIBOgIBAAJBAKj34GkxFhD90vcNLYLInFEX', 'indented-line-of-the-key', 'BEGIN TEST KEY', 'END TEST KEY']) assert.not.ok(text.includes(part), `${part} leaked: ${text}`);
  assert.ok(lines.filter((l) => l.includes('********')).length >= 4, lines.join('|'));
  // A line too short to be told apart from ordinary output (a lone brace) is left as it is.
  assert.ok(lines.includes('}'), lines.join('|'));
});

test('a diff of a file made from a secret is one line saying so', async () => {
  const { code, events } = await run(
    `
plays:
  - hosts: h1
    tasks:
      - copy:
          dest: "{{dir}}/app.env"
          content: "user=app\\npassword={{db_password}}\\nport=5432\\n"
`,
    { db_password: 'hunter2-secret' },
    { diff: true, extraVars: { dir } },
  );
  assert.is(code, 0);
  const end = events.find((e) => e.type === 'task-end');
  assert.ok(end?.type === 'task-end');
  if (end?.type !== 'task-end') return;
  assert.is(end.changes.length, 1);
  assert.is(end.changes[0].diff, `${dir}/app.env: diff not shown (the content comes from a secret)\n`);
  assert.ok(readFileSync(join(dir, 'app.env'), 'utf8').includes('password=hunter2-secret'), 'the file itself has the secret');
});

test('a `$` in a password in a command: string reaches the program intact', async () => {
  const password = 'pa$$w0rd$HOME${USER}$1x`id`';
  const { code } = await run(
    `
plays:
  - hosts: h1
    tasks:
      - command: "sh -c 'printf %s \\"$0\\" > {{dir}}/pw' {{pw}}"
`,
    { pw: password },
  );
  assert.is(code, 0);
  assert.is(readFileSync(join(dir, 'pw'), 'utf8'), password);
});

test.after(() => rmSync(dir, { recursive: true, force: true }));
test.run();
