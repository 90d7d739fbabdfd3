// A host is untrusted input: its facts are checked against their schema when its hello arrives,
// and a path on the controller that a template built stays inside the playbook's folder. The
// host here is the real agent through the local transport, its hello rewritten on the way to
// the controller (as a compromised host would send it); the controller is the real apply.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Transform } from 'node:stream';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parse } from 'yaml';
import { ok } from '../controller/errors.js';
import { resolveInventory } from '../controller/inventory/resolve.js';
import { localTransport } from '../controller/local-transport.js';
import { escapes } from '../controller/prepare/source-paths.js';
import { applyPlaybook } from '../controller/run/apply.js';
import type { RunEvent } from '../controller/run/events.js';
import type { PlaybookShape } from '../controller/run/playbook-shape.js';
import type { HostTransport } from '../controller/transport.js';
import type { HostFacts } from '../protocol/agent-protocol.js';

const dir = mkdtempSync(join(tmpdir(), 'berth-host-facts-'));
process.env.BERTH_HOST_DIR = join(dir, 'berth');
const book = join(dir, 'book');
const outside = join(dir, 'outside');
const secret = join(outside, 'secret');
mkdirSync(join(book, 'files'), { recursive: true });
mkdirSync(outside);
writeFileSync(secret, 'not for any host\n');
writeFileSync(join(book, 'files', 'motd'), 'welcome\n');
const out = join(dir, 'out');
mkdirSync(out);

/** The local transport, with the agent's hello changed by `forge` on its way to the controller. */
function forging(forge?: (facts: HostFacts) => void): HostTransport {
  const local = localTransport();
  return {
    get bytesSent() {
      return local.bytesSent;
    },
    exec: (cmd, opts) => local.exec(cmd, opts),
    close: () => local.close(),
    async spawn(cmd) {
      const ch = await local.spawn(cmd);
      if (!ch.ok || !forge) return ch;
      let partial = '';
      const rewrite = new Transform({
        transform(chunk: Buffer, _enc, done) {
          const lines = (partial + chunk.toString('utf8')).split('\n');
          partial = lines.pop()!;
          done(null, lines.map((l) => `${hello(l)}\n`).join(''));
        },
        flush(done) {
          done(null, partial);
        },
      });
      const hello = (line: string): string => {
        if (!line.startsWith('{"t":"hello"')) return line;
        const f = JSON.parse(line) as { facts: HostFacts };
        forge(f.facts);
        return JSON.stringify(f);
      };
      const stdout = ch.value.stdout.pipe(rewrite).pipe(new PassThrough());
      return ok({ ...ch.value, stdout });
    },
  };
}

const inventory = resolveInventory(parse(`hosts:\n  web1: { vars: { conf_dir: ../outside, secret_name: secret } }\n`), '<inline>');

async function run(yaml: string, forge?: (facts: HostFacts) => void): Promise<{ code: number; events: RunEvent[] }> {
  const events: RunEvent[] = [];
  const code = await applyPlaybook({
    playbookPath: join(book, 'playbook.yml'),
    playbook: parse(yaml) as PlaybookShape,
    where: (p) => `playbook.yml:${p.join('.')}`,
    inventory,
    extraVars: {},
    check: false,
    diff: false,
    forks: 5,
    sink: (e) => events.push(e),
    signal: new AbortController().signal,
    connect: async () => ok(forging(forge)),
  });
  return { code, events };
}

const failure = (events: RunEvent[]) => events.find((e): e is Extract<RunEvent, { type: 'host-failed' }> => e.type === 'host-failed');
const copyTo = (dest: string, src: string) => `plays:\n  - hosts: all\n    tasks:\n      - copy: { src: "${src}", dest: ${dest} }\n`;

test('a host claiming os.id "/../../..<file>" is failed at hello, and the file is not served to it', async () => {
  const dest = join(out, 'shadow-copy');
  const { code, events } = await run(copyTo(dest, '{{ facts.os.id }}'), (f) => (f.os.id = `/../../..${secret}`));
  assert.not.ok(existsSync(dest), `the controller served ${secret} to the host`);
  const failed = failure(events);
  assert.ok(failed, `the host is reported failed: ${JSON.stringify(events.map((e) => e.type))}`);
  assert.is(failed!.error.code, 'agent.bad-facts');
  assert.match(failed!.error.message, /os\.id: Expected string to match/);
  assert.match(failed!.error.message, /\/\.\.\/\.\.\/\.\./, 'the message shows what the host claimed');
  assert.is(code, 1, 'failed, not unreachable');
  assert.not.ok(events.some((e) => e.type === 'task-start'), 'nothing ran on a host with bad facts');
});

test('facts of the wrong type, too long, with control characters or unknown keys are rejected at hello', async () => {
  const forgeries: Array<[string, (f: HostFacts) => void, RegExp]> = [
    ['a type', (f) => ((f as unknown as { cpus: string }).cpus = 'many'), /cpus: Expected integer/],
    ['a length', (f) => (f.hostname = 'h'.repeat(300)), /hostname: Expected string length less or equal to 253/],
    ['a charset', (f) => (f.os.name = 'Debian\u001b]0;owned\u0007'), /os\.name: Expected string to match/],
    ['a dot-dot name', (f) => (f.arch = '..'), /arch: Expected string to match/],
    ['an unknown key', (f) => ((f as unknown as Record<string, unknown>).extra = 1), /Unexpected property/],
    ['a missing key', (f) => delete (f as Partial<HostFacts>).user, /user: Expected required property/],
  ];
  for (const [what, forge, message] of forgeries) {
    const dest = join(out, `motd-${what.replace(/ /g, '-')}`);
    const { code, events } = await run(copyTo(dest, 'files/motd'), forge);
    const failed = failure(events);
    assert.is(failed?.error.code, 'agent.bad-facts', `${what}: ${JSON.stringify(failed)}`);
    assert.match(failed!.error.message, message, what);
    assert.is(code, 1, what);
    assert.not.ok(existsSync(dest), `${what}: nothing ran`);
  }
  // The message shows control characters escaped, never raw.
  const { events } = await run(copyTo(join(out, 'x'), 'files/motd'), (f) => (f.os.name = 'a\u001bb\u009bc'));
  assert.not.match(failure(events)!.error.message, /[\u001b\u009b]/);
});

test('the same playbook with the facts the agent really gathered runs', async () => {
  const dest = join(out, 'motd');
  const { code, events } = await run(copyTo(dest, 'files/motd'));
  assert.is(code, 0, JSON.stringify(failure(events)));
  assert.is(readFileSync(dest, 'utf8'), 'welcome\n');
});

test('a source path a template built may not leave the playbook folder (copy, template, image build, env_file)', async () => {
  const cases: Array<[string, string]> = [
    ['copy', copyTo(join(out, 'leak1'), '{{ conf_dir }}/secret')],
    ['template', `plays:\n  - hosts: all\n    tasks:\n      - template: { src: "files/../{{ conf_dir }}/{{ secret_name }}", dest: ${join(out, 'leak2')} }\n`],
    ['image build', `plays:\n  - hosts: all\n    tasks:\n      - image: { name: leak, build: "{{ conf_dir }}" }\n`],
    ['image build context', `plays:\n  - hosts: all\n    tasks:\n      - image: { name: leak, build: { context: "./{{ conf_dir }}" } }\n`],
    ['service env_file', `plays:\n  - hosts: all\n    services:\n      app: { image: "busybox:latest", env_file: ["files/motd", "{{ conf_dir }}/secret"] }\n`],
    ['service build', `plays:\n  - hosts: all\n    services:\n      app: { build: "{{ conf_dir }}" }\n`],
  ];
  for (const [what, yaml] of cases) {
    const { code, events } = await run(yaml);
    const failed = failure(events);
    assert.is(failed?.error.code, 'source.outside-playbook', `${what}: ${JSON.stringify(failed ?? events.slice(-3))}`);
    assert.match(failed!.error.message, /is outside the playbook's folder/, what);
    assert.match(failed!.error.where ?? '', /^playbook\.yml:plays\.0\./, `${what}: located (${failed!.error.where})`);
    assert.is(code, 2, what);
  }
  assert.not.ok(existsSync(join(out, 'leak1')) || existsSync(join(out, 'leak2')), 'nothing was served');
});

test('what the playbook wrote itself is taken as written: an absolute path with a template, or a path with none', async () => {
  const abs = join(out, 'abs');
  const literal = join(out, 'literal');
  const r1 = await run(copyTo(abs, `${outside}/{{ secret_name }}`));
  assert.is(r1.code, 0, JSON.stringify(failure(r1.events)));
  assert.is(readFileSync(abs, 'utf8'), 'not for any host\n');
  const r2 = await run(copyTo(literal, '../outside/secret'));
  assert.is(r2.code, 0, JSON.stringify(failure(r2.events)));
  assert.is(readFileSync(literal, 'utf8'), 'not for any host\n');
});

test('escapes: the folder an absolute path names before its first template bounds it', () => {
  assert.not.ok(escapes('files/{{x}}', 'files/a/../b', '/book'));
  assert.ok(escapes('files/{{x}}', 'files/../../etc/passwd', '/book'));
  assert.ok(escapes('{{x}}', '/etc/passwd', '/book'));
  assert.not.ok(escapes('/srv/files/{{x}}', '/srv/files/a', '/book'));
  assert.ok(escapes('/srv/files/{{x}}', '/srv/files/../../etc/passwd', '/book'));
  assert.not.ok(escapes('/srv/f-{{x}}', '/srv/f-a', '/book'));
  assert.not.ok(escapes('../shared/motd', '../shared/motd', '/book'));
  assert.ok(escapes(undefined, '../x', '/book'), 'a value the playbook did not write there is checked');
  assert.not.ok(escapes('{{x}}', '..foo/bar', '/book'), 'a name starting with two dots stays inside');
});

test.after(() => rmSync(dir, { recursive: true, force: true }));

test.run();
