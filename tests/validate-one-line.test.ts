// Each problem berth validate prints is one line (then its indented at: and hint: lines) of a
// sensible length, even when what it quotes from the playbook holds a newline or is huge: a
// condition with a newline in it, a hint listing handler names of 100 000 characters.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';

const root = new URL('..', import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'berth-one-line-'));
const tsx = import.meta.resolve('tsx');
const berth = (...args: string[]) => spawnSync(process.execPath, ['--import', tsx, join(root, 'cli/main.ts'), ...args], { cwd: dir, encoding: 'utf8', env: { ...process.env, HOME: dir }, timeout: 120_000 });

test.after(() => rmSync(dir, { recursive: true, force: true }));

test('a condition with a newline, and a hint naming a huge handler: every line located or indented, none long', () => {
  const huge = 'x'.repeat(100_000);
  writeFileSync(
    join(dir, 'site.yml'),
    [
      'inventory: { hosts: { h1: {} } }',
      'plays:',
      '  - hosts: all',
      '    tasks:',
      '      - command: [uname]',
      '        failed_when: "result.rc != 0 or fal\\nse"',
      '      - command: [uname]',
      '        notify: restart',
      '    handlers:',
      `      - name: ${huge}`,
      '        command: [/bin/true]',
    ].join('\n') + '\n',
  );
  const r = berth('validate', 'site.yml');
  assert.is(r.status, 2, r.stderr);
  const lines = r.stderr.split('\n').filter(Boolean);
  const heads = lines.filter((l) => !l.startsWith('  '));
  assert.equal(heads.map((l) => l.replace(/: .*/, '')), ['site.yml:6:22', 'site.yml:8:17']);
  assert.match(heads[0], /unexpected in expression: result\.rc != 0 or fal\\nse$/);
  for (const l of lines) {
    assert.ok(l.length < 400, `a line of ${l.length} characters: ${l.slice(0, 200)}`);
    assert.ok(l.startsWith('site.yml:') || /^ {2}(at|hint): /.test(l), `a line that is no problem, at: or hint: ${JSON.stringify(l.slice(0, 200))}`);
  }
});

test.run();
