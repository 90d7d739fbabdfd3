// `become_user` and `environment` on a real host (a lab machine over SSH, the agent as root):
// the program really runs as that user, with the user's supplementary groups and home, and sees
// the play's and the task's environment (the task's win); a user the host lacks fails the task;
// become_user on a module that acts as root is refused before anything connects.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { berth, type Ev } from './helpers/berth-cli.js';
import { sshLabSync, startLab, type TestLab } from './helpers/lab.js';

let lab: TestLab;

function playbook(name: string, yaml: string): string {
  const path = join(lab.dir, `${name}.yml`);
  writeFileSync(path, yaml);
  return path;
}

const outputs = (events: Ev[], task: string) => {
  const index = events.find((e) => e.type === 'task-start' && e.name === task)?.task;
  return events.filter((e) => e.type === 'output' && e.task === index).map((e) => e.line as string);
};
const ends = (events: Ev[]) => Object.fromEntries(events.filter((e) => e.type === 'task-end').map((e) => [e.name, e]));

test.before(async () => {
  lab = await startLab({ name: 'become-env', hosts: 1 });
});

test('become_user runs command and shell as that user, with its groups and home; environment reaches them, the task\'s winning', async () => {
  const host = lab.hosts[0];
  const pb = playbook(
    'become',
    `
name: become
plays:
  - hosts: all
    environment: { FROM_PLAY: play, BOTH: play, PORT: 5432 }
    tasks:
      - group: { name: berthdb }
      - user: { name: pgtest, groups: [berthdb], home: /home/pgtest }
      - name: as pgtest
        command: [sh, -c, 'echo "$(id -un) $(id -gn) [$(id -Gn)] $HOME $USER $FROM_PLAY $BOTH $PORT $FROM_TASK"; touch /tmp/made-by-pgtest']
        become_user: pgtest
        environment: { BOTH: task, FROM_TASK: "{{ inventory_hostname }}" }
      - name: a shell as pgtest
        shell: 'echo "$(whoami) $BOTH" > /tmp/shell-by-pgtest'
        become_user: pgtest
      - name: as root by default
        command: [sh, -c, 'echo "$(id -un) $BOTH"']
        register: probe
      - name: from a registered result
        shell: 'echo "$FROM_RESULT"'
        environment: { FROM_RESULT: "probe said {{ probe.stdout }}" }
`,
  );
  const r = await berth(['apply', pb, '-i', lab.inventoryPath, '--json']);
  assert.is(r.code, 0, r.stderr + r.stdout);
  assert.equal(outputs(r.events, 'as pgtest'), [`pgtest pgtest [pgtest berthdb] /home/pgtest pgtest play task 5432 ${host.name}`]);
  assert.equal(outputs(r.events, 'as root by default'), ['root play']);
  // Rendered by the agent, where the result was registered.
  assert.equal(outputs(r.events, 'from a registered result'), ['probe said root play']);
  assert.is(sshLabSync(lab, host, 'stat -c %U:%G /tmp/made-by-pgtest'), 'pgtest:pgtest');
  assert.is(sshLabSync(lab, host, 'stat -c %U /tmp/shell-by-pgtest; cat /tmp/shell-by-pgtest'), 'pgtest\npgtest play');
});

test('a become_user the host lacks fails the task, and nothing runs as root in its place', async () => {
  const pb = playbook('missing', 'plays:\n  - hosts: all\n    tasks:\n      - name: no such user\n        command: [touch, /tmp/made-by-nobody-known]\n        become_user: nosuchuser\n');
  const r = await berth(['apply', pb, '-i', lab.inventoryPath, '--json']);
  assert.is(r.code, 1, r.stderr);
  const end = ends(r.events)['no such user'];
  assert.is(end.status, 'failed');
  assert.match(end.message, 'become_user: there is no user "nosuchuser" on this host');
  assert.is(sshLabSync(lab, lab.hosts[0], 'test -e /tmp/made-by-nobody-known && echo made || echo absent'), 'absent');
});

test('become_user on a module that acts as root is refused before anything connects, at its line', async () => {
  const own = playbook('own', 'plays:\n  - hosts: all\n    tasks:\n      - file: { path: /tmp/x, state: touch }\n        become_user: postgres\n');
  const r1 = await berth(['validate', own]);
  assert.is(r1.code, 2, r1.stderr);
  assert.match(r1.stderr, /own\.yml:5:22: become_user: file acts as the agent \(root\) and cannot run as "postgres"/);
  const fromPlay = playbook('from-play', 'plays:\n  - hosts: all\n    become_user: postgres\n    tasks:\n      - command: [id]\n      - file: { path: /tmp/x, state: touch }\n      - file: { path: /tmp/y, state: touch }\n        become_user: root\n');
  const r2 = await berth(['apply', fromPlay, '-i', lab.inventoryPath, '--json']);
  assert.is(r2.code, 2, r2.stderr);
  assert.match(r2.stderr, /from-play\.yml:6:9: this file task would run as the play's become_user "postgres"/);
  assert.not.match(r2.stderr, /from-play\.yml:7/);
  assert.not.ok(r2.events.some((e) => e.type === 'host-ready'), 'nothing connected');
});

test.after(async () => {
  await lab?.down();
});
test.run();
