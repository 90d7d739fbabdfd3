// Writes as root never follow a symlink a user planted: not at the destination, not at the temp
// file, not in a parent directory the user owns. A real agent runs as root on a lab host over
// SSH; a real user (alice) plants links in her home, before the run or while a template is on
// its way (the test plants it when the agent fetches the rendered content, between the task's
// plan and its write). A root-owned file outside her home must stay exactly as it was.
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { connect, resolveTarget, type SshSession } from '../controller/ssh/index.js';
import { sshLab, sshLabSync, startLab, type LabHost, type TestLab } from './helpers/lab.js';
import { ran, testAgent, type TestAgent } from './modules/run-tasks.js';

let lab: TestLab;
let host: LabHost;
let session: SshSession;
let agent: TestAgent;
const book = mkdtempSync(join(tmpdir(), 'berth-root-writes-'));
const VICTIM = '/etc/berth-victim/app.conf';

const onHost = async (cmd: string) => {
  const r = await sshLab(lab, host, cmd);
  if (r.code !== 0) throw new Error(`${cmd}: exit ${r.code}: ${r.stderr}`);
  return r.stdout;
};
const asAlice = (cmd: string) => onHost(`su -s /bin/sh alice -c '${cmd}'`);
/** Everything about the root-owned file that a write through a link would change. */
const victim = () => onHost(`stat -c '%U %G %a %s %i' ${VICTIM} && sha256sum ${VICTIM} && ls -A /etc/berth-victim`);

test.before(async () => {
  lab = await startLab({ name: 'root-writes', hosts: 1 });
  host = lab.hosts[0];
  const target = resolveTarget({ name: host.name, address: host.address, port: host.port, user: 'root', key: lab.keyPath, known_hosts: lab.knownHostsPath }, { sshConfigPath: null, env: {} });
  if (!target.ok) throw new Error(target.error.message);
  const s = await connect(target.value);
  if (!s.ok) throw new Error(s.error.message);
  session = s.value;
  agent = await testAgent(session, host.name);
  await onHost(`useradd -m -s /bin/sh alice && mkdir -p /etc/berth-victim && printf 'root only\\n' > ${VICTIM} && chmod 600 ${VICTIM}`);
  mkdirSync(join(book, 'templates'));
  // A nonce per run: the host never has this content yet, so the agent fetches it (the moment a link is planted below).
  writeFileSync(join(book, 'templates', 'app.conf.hbs'), 'written by berth for {{inventory_hostname}} {{nonce}}\n');
});

test.after(async () => {
  agent?.close();
  session?.close();
  await lab?.down();
  rmSync(book, { recursive: true, force: true });
});

/** Runs `fn` (on the host, as alice) when the agent asks for content: after the plan, before the write. */
function whenFetched(fn: () => void): () => void {
  const original = agent.blobs.get.bind(agent.blobs);
  let done = false;
  agent.blobs.get = (sha256: string) => {
    if (!done) {
      done = true;
      fn();
    }
    return original(sha256);
  };
  return () => (agent.blobs.get = original);
}

test('a template to her home, its folder swapped for a link to /etc while the content is on its way: fails naming the link; the root file is untouched', async () => {
  await asAlice('mkdir -p /home/alice/conf');
  const before = await victim();
  const restore = whenFetched(() => sshLabSync(lab, host, `su -s /bin/sh alice -c 'mv /home/alice/conf /home/alice/conf.old && ln -s /etc/berth-victim /home/alice/conf'`));
  let r;
  try {
    r = ran(await agent.run([{ module: 'template', params: { src: 'templates/app.conf.hbs', dest: '/home/alice/conf/app.conf', owner: 'alice', mode: '0644' } }], { baseDir: book, vars: { nonce: randomBytes(8).toString('hex') } }));
  } finally {
    restore();
  }
  assert.is(await onHost('readlink /home/alice/conf'), '/etc/berth-victim', 'the link was planted during the task');
  assert.is(await victim(), before, 'the root-owned file and its folder are as they were');
  assert.is(r.result.failed, 1, JSON.stringify(r.tasks));
  assert.match(r.tasks[0].message ?? '', /\/home\/alice\/conf is a symlink \(to \/etc\/berth-victim\) owned by uid \d+/);
  assert.is(await onHost('ls -A /home/alice/conf.old'), '', 'no temp file left behind');
});

test('a template whose destination became her link to a root file during the task: fails naming the link; the root file is untouched', async () => {
  await asAlice('mkdir -p /home/alice/conf2');
  const before = await victim();
  const restore = whenFetched(() => sshLabSync(lab, host, `su -s /bin/sh alice -c 'ln -s ${VICTIM} /home/alice/conf2/app.conf'`));
  let r;
  try {
    r = ran(await agent.run([{ module: 'template', params: { src: 'templates/app.conf.hbs', dest: '/home/alice/conf2/app.conf', owner: 'alice' } }], { baseDir: book, vars: { nonce: randomBytes(8).toString('hex') } }));
  } finally {
    restore();
  }
  assert.is(await victim(), before);
  assert.is(r.result.failed, 1, JSON.stringify(r.tasks));
  assert.match(r.tasks[0].message ?? '', /\/home\/alice\/conf2\/app\.conf is now a symlink \(to \/etc\/berth-victim\/app\.conf\)/);
  assert.is(await onHost('readlink /home/alice/conf2/app.conf'), VICTIM, 'her link is left as it is');
});

test('lineinfile on her file that is a link to a root file: fails naming the link; the root file is untouched', async () => {
  await asAlice(`ln -s ${VICTIM} /home/alice/.profile-link`);
  const before = await victim();
  const r = ran(await agent.run([{ module: 'lineinfile', params: { path: '/home/alice/.profile-link', line: 'alice was here' } }]));
  assert.is(await victim(), before);
  assert.is(r.result.failed, 1, JSON.stringify(r.tasks));
  assert.match(r.tasks[0].message ?? '', /\/home\/alice\/\.profile-link is a symlink \(to \/etc\/berth-victim\/app\.conf\) owned by uid \d+/);
});

test('file: owner and mode of her link to a root file, or a folder under her link to /etc: fails naming the link; nothing changes in /etc', async () => {
  await asAlice(`ln -s ${VICTIM} /home/alice/notes && ln -s /etc/berth-victim /home/alice/cache`);
  const before = await victim();
  // One run each: a plan stops at its first failed task.
  const tasks = [
    { module: 'file', params: { path: '/home/alice/notes', owner: 'alice', mode: '0666' } },
    { module: 'file', params: { path: '/home/alice/cache/sub', state: 'directory', owner: 'alice' } },
    { module: 'file', params: { path: '/home/alice/cache/new', state: 'touch', owner: 'alice' } },
  ];
  const ends = [];
  for (const t of tasks) ends.push(ran(await agent.run([t])).tasks[0]);
  assert.is(await victim(), before, 'no chown, chmod or new entry under /etc/berth-victim');
  assert.equal(ends.map((t) => t.status), ['failed', 'failed', 'failed'], JSON.stringify(ends));
  assert.match(ends[0].message ?? '', /\/home\/alice\/notes is a symlink \(to \/etc\/berth-victim\/app\.conf\) owned by uid \d+/);
  assert.match(ends[1].message ?? '', /\/home\/alice\/cache is a symlink \(to \/etc\/berth-victim\) owned by uid \d+/);
  assert.match(ends[2].message ?? '', /\/home\/alice\/cache is a symlink/);
});

test('links root made are still followed, and her own files are written as asked', async () => {
  await onHost('mkdir -p /srv/berth-real && ln -sfn /srv/berth-real /home/alice/rootlink && printf "a\\n" > /srv/berth-real/list');
  await asAlice('mkdir -p /home/alice/mine && ln -s /nowhere /home/alice/mylink');
  const r = ran(
    await agent.run(
      [
        { module: 'lineinfile', params: { path: '/home/alice/rootlink/list', line: 'b' } },
        { module: 'template', params: { src: 'templates/app.conf.hbs', dest: '/home/alice/mine/app.conf', owner: 'alice', mode: '0640' } },
        { module: 'file', params: { path: '/var/run/berth-root-writes', state: 'directory', mode: '0700' } },
        { module: 'file', params: { path: '/home/alice/mylink', state: 'link', src: '/srv/berth-real', owner: 'alice' } },
      ],
      { baseDir: book, vars: { nonce: 'x' } },
    ),
  );
  assert.equal(r.tasks.map((t) => t.status), ['changed', 'changed', 'changed', 'changed'], JSON.stringify(r.tasks));
  assert.is(await onHost('cat /srv/berth-real/list'), 'a\nb');
  assert.is(await onHost('stat -c "%U %a" /home/alice/mine/app.conf'), 'alice 640');
  assert.is(await onHost('stat -c "%a" /run/berth-root-writes'), '700', '/var/run is root\'s link to /run');
  assert.is(await onHost('stat -c "%U %N" /home/alice/mylink'), "alice '/home/alice/mylink' -> '/srv/berth-real'", 'her own link is repointed (state: link never follows it)');
});

test.run();
