// The host modules on real lab hosts over real SSH, as root: packages from the lab's apt
// repository, users and groups, files, copies and templates. Every result is checked on the
// host itself (dpkg-query, getent, stat, sha256sum over ssh), not only in berth's report. Each
// test runs on two hosts: h1, where the agent runs on the runtime berth pushed, and h2, a host
// with Debian's nodejs (Node 18), where it runs on that.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { test, test as uvuTest } from 'uvu';
import * as assert from 'uvu/assert';
import { parse } from 'yaml';
import { connect, resolveTarget, type SshSession } from '../../controller/ssh/index.js';
import { sshLab, startLab, type LabHost, type TestLab } from '../helpers/lab.js';
import { ran, testAgent, type TestAgent } from './run-tasks.js';

const pexec = promisify(execFile);
let lab: TestLab;
let aptRepo: string;
const book = mkdtempSync(join(tmpdir(), 'berth-lab-modules-'));

/** The hosts every test runs on, and which Node runs the agent there. */
const HOSTS = [
  { name: 'h1', node: "berth's runtime" },
  { name: 'h2', node: "Debian's Node 18" },
] as const;
interface OnHost { host: LabHost; session: SshSession; agent: TestAgent }
const on: Record<string, OnHost> = {};

test.before(async () => {
  lab = await startLab({ name: 'modules', hosts: 2, node: { h2: 'debian' } });
  aptRepo = (parse(readFileSync(lab.inventoryPath, 'utf8')) as { vars: { berth_apt_repo: string } }).vars.berth_apt_repo;
  for (const host of lab.hosts) {
    const target = resolveTarget({ name: host.name, address: host.address, port: host.port, user: 'root', key: lab.keyPath, known_hosts: lab.knownHostsPath }, { sshConfigPath: null, env: {} });
    if (!target.ok) throw new Error(target.error.message);
    const s = await connect(target.value);
    if (!s.ok) throw new Error(s.error.message);
    on[host.name] = { host, session: s.value, agent: await testAgent(s.value, host.name) };
  }
  mkdirSync(join(book, 'files'), { recursive: true });
  mkdirSync(join(book, 'templates'), { recursive: true });
});

test.after(async () => {
  for (const o of Object.values(on)) {
    o.agent.close();
    o.session.close();
  }
  await lab?.down();
  rmSync(book, { recursive: true, force: true });
});

test('the agent runs on the pushed runtime on h1 and on Debian\'s Node 18 on h2', () => {
  assert.equal(on.h1!.agent.start.pushed, { agent: true, node: true });
  assert.is(on.h1!.agent.start.hello.facts.node, process.versions.node);
  assert.equal(on.h2!.agent.start.pushed, { agent: true, node: false });
  assert.match(on.h2!.agent.start.hello.facts.node, /^18\./);
});

for (const { name, node } of HOSTS) {
  const host = () => on[name]!.host;
  const agent = { run: (...a: Parameters<TestAgent['run']>) => on[name]!.agent.run(...a), get start() { return on[name]!.agent.start; } };
  const onHost = (cmd: string) => sshLab(lab, host(), cmd);
  const dpkgStatus = async (pkg: string) => (await onHost(`dpkg-query -W -f='\${db:Status-Abbrev}' ${pkg} 2>/dev/null`)).stdout.trim();
  const test = (title: string, fn: () => Promise<void>) => uvuTest(`${title} [${name}: ${node}]`, fn);

  test('package: installs busybox-static from the lab apt repository, then removes it; both idempotent', async () => {
    assert.is.not(await dpkgStatus('busybox-static'), 'ii', 'not installed before');
    const install = [{ module: 'package', params: { name: 'busybox-static', repo: aptRepo, update_cache: true, cache_valid_time: '1h' } }];

    const check = ran(await agent.run(install, { check: true }));
    assert.is(check.result.changed, 1, JSON.stringify(check.tasks));
    assert.is.not(await dpkgStatus('busybox-static'), 'ii', 'check mode installed nothing');
    assert.is((await onHost('ls /etc/apt/sources.list.d/ | grep -c berth- || true')).stdout, '0', 'check mode wrote no source');

    const first = ran(await agent.run(install));
    assert.is(first.result.failed, 0, first.tasks[0]?.message);
    assert.is(first.result.changed, 1);
    assert.is(await dpkgStatus('busybox-static'), 'ii');
    assert.match((await onHost('busybox echo works')).stdout, /^works$/);
    const list = await onHost('cat /etc/apt/sources.list.d/berth-*.list');
    assert.match(list.stdout, new RegExp(aptRepo.replace(/[[\]./]/g, '\\$&')));

    const second = ran(await agent.run(install));
    assert.equal([second.result.changed, second.result.ok], [0, 1], JSON.stringify(second.tasks));

    const remove = [{ module: 'package', params: { name: ['busybox-static'], state: 'absent' } }];
    assert.is(ran(await agent.run(remove)).result.changed, 1);
    assert.is.not(await dpkgStatus('busybox-static'), 'ii');
    assert.is(ran(await agent.run(remove)).result.changed, 0);
  });

  test('package: an unknown package is a clear failure naming it', async () => {
    const r = ran(await agent.run([{ module: 'package', params: { name: 'no-such-package-berth' } }]));
    assert.is(r.result.failed, 1);
    assert.match(r.tasks[0].message ?? '', /no package no-such-package-berth in the apt lists/);
  });

  test('group and user: created with the asked ids, shell and groups; changes converge; absent removes', async () => {
    const tasks = (shell: string) => [
      { module: 'group', params: { name: 'berthops', gid: 2345 } },
      { module: 'user', params: { name: 'berthsvc', uid: 2345, groups: ['berthops'], shell, home: '/home/berthsvc', comment: 'berth service' } },
    ];
    const first = ran(await agent.run(tasks('/bin/sh')));
    assert.equal([first.result.changed, first.result.failed], [2, 0], JSON.stringify(first.tasks));
    assert.is((await onHost('getent group berthops')).stdout, 'berthops:x:2345:berthsvc');
    assert.match((await onHost('getent passwd berthsvc')).stdout, /^berthsvc:x:2345:\d+:berth service:\/home\/berthsvc:\/bin\/sh$/);
    assert.is((await onHost('id -gn berthsvc')).stdout, 'berthsvc', 'a primary group named like the user');
    assert.is((await onHost('stat -c %U /home/berthsvc')).stdout, 'berthsvc', 'home created');
    assert.is(ran(await agent.run(tasks('/bin/sh'))).result.changed, 0);

    const shell = ran(await agent.run(tasks('/bin/bash')));
    assert.is(shell.result.changed, 1);
    assert.match(shell.tasks[1].changes[0].summary, /shell \/bin\/sh -> \/bin\/bash/);
    assert.match((await onHost('getent passwd berthsvc')).stdout, /:\/bin\/bash$/);

    const leave = ran(await agent.run([{ module: 'user', params: { name: 'berthsvc', groups: [] } }]));
    assert.is(leave.result.changed, 1);
    assert.is((await onHost('getent group berthops')).stdout, 'berthops:x:2345:');
  });

  test('file, copy and template as root: owner by name, mode, content by hash; converged on the second run', async () => {
    writeFileSync(join(book, 'files/app.env'), 'A=1\nB=2\n');
    writeFileSync(join(book, 'templates/app.conf.hbs'), 'host={{inventory_hostname}}\nip={{lab_ip}}\nos={{facts.os.id}}\n');
    const tasks = [
      { module: 'file', params: { path: '/etc/berth-test', state: 'directory', owner: 'berthsvc', group: 'berthops', mode: '0750' } },
      { module: 'copy', params: { src: 'files/app.env', dest: '/etc/berth-test/app.env', owner: 'berthsvc', mode: '0640' } },
      { module: 'template', params: { src: 'templates/app.conf.hbs', dest: '/etc/berth-test/app.conf', group: 'berthops', mode: '0644' } },
      { module: 'lineinfile', params: { path: '/etc/berth-test/app.env', line: 'C=3', owner: 'berthsvc', mode: '0640' } },
    ];
    const vars = { lab_ip: host().ip };
    const first = ran(await agent.run(tasks, { vars, baseDir: book }));
    assert.equal([first.result.changed, first.result.failed], [4, 0], JSON.stringify(first.tasks));
    assert.is((await onHost('stat -c "%U %G %a" /etc/berth-test')).stdout, 'berthsvc berthops 750');
    assert.is((await onHost('stat -c "%U %a" /etc/berth-test/app.env')).stdout, 'berthsvc 640');
    assert.is((await onHost('cat /etc/berth-test/app.env')).stdout, 'A=1\nB=2\nC=3');
    assert.is((await onHost('cat /etc/berth-test/app.conf')).stdout, `host=${host().name}\nip=${host().ip}\nos=debian`);
    assert.is((await onHost('stat -c "%G %a" /etc/berth-test/app.conf')).stdout, 'berthops 644');

    // The copy then conflicts with the lineinfile: reset the env file to the copy's content only.
    const converge = tasks.slice(0, 3);
    ran(await agent.run(converge, { vars, baseDir: book }));
    const sha = createHash('sha256').update('A=1\nB=2\n').digest('hex');
    assert.is((await onHost('sha256sum /etc/berth-test/app.env | cut -d" " -f1')).stdout, sha);
    const fingerprint = () => onHost('find /etc/berth-test -exec stat -c "%n %U %G %a %Y %s" {} + | sort; cat /etc/berth-test/*');
    const before = (await fingerprint()).stdout;
    const second = ran(await agent.run(converge, { vars, baseDir: book }));
    assert.equal([second.result.changed, second.result.ok], [0, 3], JSON.stringify(second.tasks));

    const check = ran(await agent.run([{ module: 'copy', params: { content: 'different\n', dest: '/etc/berth-test/app.env', mode: '0600' } }], { check: true, diff: true }));
    assert.is(check.result.changed, 1);
    assert.match(check.tasks[0].changes[0].diff ?? '', /-A=1\n-B=2\n\+different/);
    assert.is((await fingerprint()).stdout, before, 'check mode left the host unchanged');
    assert.is((await onHost('ls -a /etc/berth-test | grep -c berth- || true')).stdout, '0', 'no temp files left');
  });

  test('user and group absent remove them', async () => {
    const r = ran(await agent.run([
      { module: 'file', params: { path: '/etc/berth-test', state: 'absent' } },
      { module: 'user', params: { name: 'berthsvc', state: 'absent', remove: true } },
      { module: 'group', params: { name: 'berthops', state: 'absent' } },
    ]));
    assert.equal([r.result.changed, r.result.failed], [3, 0], JSON.stringify(r.tasks));
    assert.is((await onHost('getent passwd berthsvc')).code, 2);
    assert.is((await onHost('getent group berthops')).code, 2);
    assert.is((await onHost('test -e /home/berthsvc && echo left || echo gone')).stdout, 'gone');
  });

  test('service: a host without systemd gets a clear "not supported" failure', async () => {
    const r = ran(await agent.run([{ module: 'service', params: { name: 'ssh', state: 'started' } }]));
    assert.is(r.result.failed, 1);
    assert.match(r.tasks[0].message ?? '', /^not supported on this host: no systemd \(init is \w+\)$/);
    assert.is.not(agent.start.hello.facts.init, 'systemd');
  });
}

/** `berth apply` as an operator runs it: the CLI, the lab's inventory, JSON events. */
async function berthApply(playbook: string, extra: string[] = []): Promise<{ code: number; out: string; err: string }> {
  const root = new URL('../..', import.meta.url).pathname;
  try {
    const r = await pexec(process.execPath, [join(root, 'bin/berth.js'), 'apply', playbook, '-i', lab.inventoryPath, ...extra], { cwd: book, env: { ...process.env, CI: 'true' } });
    return { code: 0, out: r.stdout, err: r.stderr };
  } catch (e) {
    const x = e as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof x.code === 'number' ? x.code : 1, out: x.stdout ?? '', err: x.stderr ?? '' };
  }
}

test('berth apply: a playbook of templates and packages converges, then reports nothing to change', async () => {
  writeFileSync(join(book, 'templates/site.conf.hbs'), '# {{inventory_hostname}}\ngreeting={{upper greeting}}\nrepo={{berth_apt_repo}}\n');
  writeFileSync(
    join(book, 'site.yml'),
    [
      'name: modules end to end',
      'vars: { greeting: hello }',
      'plays:',
      '  - hosts: all',
      '    tasks:',
      '      - package: { name: busybox-static, repo: "{{berth_apt_repo}}", update_cache: true, cache_valid_time: 1h }',
      '      - file: { path: /srv/site, state: directory, mode: "0755" }',
      '      - template: { src: templates/site.conf.hbs, dest: /srv/site/site.conf, mode: "0640" }',
      '      - lineinfile: { path: /srv/site/other.conf, line: "a=1", create: true }',
      '',
    ].join('\n'),
  );
  const recap = (out: string, host: string) => out.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l)).find((e) => e.type === 'recap')?.hosts?.[host];
  const first = await berthApply('site.yml', ['--json']);
  assert.is(first.code, 0, first.err + first.out);
  for (const host of lab.hosts) {
    assert.is(recap(first.out, host.name)?.changed, 4, first.out);
    assert.is((await sshLab(lab, host, 'cat /srv/site/site.conf')).stdout, `# ${host.name}\ngreeting=HELLO\nrepo=${aptRepo}`);
    assert.is((await sshLab(lab, host, "dpkg-query -W -f='${db:Status-Abbrev}' busybox-static")).stdout.trim(), 'ii');
  }
  const second = await berthApply('site.yml', ['--json']);
  assert.is(second.code, 0, second.err);
  for (const host of lab.hosts) assert.equal([recap(second.out, host.name)?.changed, recap(second.out, host.name)?.ok], [0, 4], host.name);
});

test('berth apply: a template that uses an undefined variable fails the host before anything runs, naming the template line', async () => {
  writeFileSync(join(book, 'templates/broken.conf.hbs'), 'fine={{greeting}}\nbroken={{not_defined_anywhere}}\n');
  writeFileSync(join(book, 'broken.yml'), 'name: broken\nvars: { greeting: hi }\nplays:\n  - hosts: all\n    tasks:\n      - template: { src: templates/broken.conf.hbs, dest: /srv/site/broken.conf }\n');
  const r = await berthApply('broken.yml');
  // Plans are rendered for every host before the first task runs: bad input, exit 2.
  assert.is(r.code, 2, r.err + r.out);
  assert.match(r.err + r.out, /templates\/broken\.conf\.hbs:2:\d+/);
  assert.match(r.err + r.out, /not_defined_anywhere/);
  for (const host of lab.hosts) assert.is((await sshLab(lab, host, 'test -e /srv/site/broken.conf && echo yes || echo no')).stdout, 'no');
});

test.run();
