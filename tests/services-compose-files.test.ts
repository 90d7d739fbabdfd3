// A Compose file's own files on a real lab host (issue 21, point 4), through `berth apply`: a
// relative bind mount of ./conf/, a config and a secret are written into the project's folder
// on the host and bound from there; the secret is 0400 and masked in everything berth prints; a
// changed conf file recreates the service, and an apply with nothing changed changes nothing.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { LabHost } from './helpers/lab.js';
import { servicesLab, type Applied, type ServicesLab } from './services-lab.js';

let sl: ServicesLab;
let h1: LabHost;
const SECRET = 'db-pw-7f3a9c-never-shown';
const folder = '/var/lib/berth/projects/shipped';

const PLAYBOOK = `plays:
  - hosts: all
    compose: shipped/compose.yaml
  # Something that prints the secret: berth's output must show the mask instead.
  - hosts: all
    tasks:
      - name: print the secret
        shell: cat ${folder}/secrets/app/db_password
`;

async function apply(): Promise<Applied> {
  const r = await sl.apply('shipped-site', PLAYBOOK);
  assert.is(r.code, 0, r.stderr + JSON.stringify(r.events.filter((e) => e.type === 'task-end' && e.status === 'failed')));
  assert.not.ok((JSON.stringify(r.events) + r.stderr).includes(SECRET), 'the secret is in nothing berth printed');
  return r;
}

const sh = async (cmd: string) => (await sl.ssh(h1, cmd)).stdout;

test.before(async () => {
  sl = await servicesLab('compose-files', 1);
  h1 = sl.hosts[0];
  const dir = join(sl.lab.dir, 'shipped');
  mkdirSync(join(dir, 'conf/rules'), { recursive: true });
  writeFileSync(
    join(dir, 'compose.yaml'),
    [
      'name: shipped',
      'services:',
      '  app:',
      '    image: lab/busybox',
      '    init: true',
      '    command: [sleep, "3600"]',
      '    volumes:',
      '      - ./conf:/etc/app:ro',
      '    configs:',
      '      - source: greeting',
      '        target: /etc/greeting',
      '    secrets:',
      '      - db_password',
      'configs:',
      '  greeting: { file: ./greeting.txt }',
      'secrets:',
      '  db_password: { file: ./db_password.txt }',
      '',
    ].join('\n'),
  );
  writeFileSync(join(dir, 'conf/app.yml'), 'level: info\n');
  writeFileSync(join(dir, 'conf/rules/a.rules'), 'rule a\n');
  writeFileSync(join(dir, 'greeting.txt'), 'hello\n');
  writeFileSync(join(dir, 'db_password.txt'), `${SECRET}\n`);
});

test.after(async () => {
  await sl?.down();
});

test('the bind mount, config and secret are on the host in the project folder, the container sees them, the secret is 0400 and masked', async () => {
  const r = await apply();
  const printer = r.tasks(h1.name)['print the secret'];
  const printed = r.events.filter((e) => e.type === 'output' && e.host === h1.name && e.task === printer.task).map((e) => e.line);
  assert.equal(printed, ['********'], 'the task printed the secret, and berth shows the mask');
  assert.is(await sh(`cat ${folder}/files/conf/app.yml ${folder}/files/conf/rules/a.rules ${folder}/configs/app/greeting`), 'level: info\nrule a\nhello');
  assert.is(await sh(`stat -c '%a %u %g' ${folder}/secrets/app/db_password ${folder}/configs/app/greeting`), '400 0 0\n444 0 0');
  assert.is(await sh('docker exec shipped-app-1 cat /etc/app/app.yml /etc/app/rules/a.rules /etc/greeting /run/secrets/db_password'), `level: info\nrule a\nhello\n${SECRET}`);
  const app = await sl.inspect(h1, 'shipped-app-1');
  const binds = (app.Mounts as Array<{ Source: string; Destination: string; RW: boolean }>).map((m) => `${m.Source} ${m.Destination} ${m.RW ? 'rw' : 'ro'}`).sort();
  assert.equal(binds, [`${folder}/configs/app/greeting /etc/greeting ro`, `${folder}/files/conf /etc/app ro`, `${folder}/secrets/app/db_password /run/secrets/db_password ro`]);
});

test('a second apply changes nothing; a changed conf file is written and recreates the service; then nothing again', async () => {
  const id = (await sl.inspect(h1, 'shipped-app-1')).Id;
  const same = await apply();
  assert.equal(same.changes(h1.name, 'service app'), [], 'converged');
  assert.is((await sl.inspect(h1, 'shipped-app-1')).Id, id);

  writeFileSync(join(sl.lab.dir, 'shipped/conf/app.yml'), 'level: debug\n');
  const changed = await apply();
  assert.equal(changed.changes(h1.name, 'service app'), [`write ${folder}/files/conf/app.yml (13 bytes, mode 0644) [content differs]`, 'recreate app.1 [config changed: volumes]']);
  assert.is.not((await sl.inspect(h1, 'shipped-app-1')).Id, id);
  assert.is(await sh('docker exec shipped-app-1 cat /etc/app/app.yml'), 'level: debug');

  const again = await apply();
  assert.equal(again.changes(h1.name, 'service app'), []);
});

test.run();
