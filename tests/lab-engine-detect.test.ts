// The lab decides what to install by what runs, not by names on PATH. A fresh machine of this
// project's kind has a static `docker` client in /usr/local/bin and no engine behind it: that
// machine must get docker.io (dockerd, containerd, runc), not be taken for one that has Docker.
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { missingTools, packagesFor } from '../providers/lab/apt-tools.js';
import { checkEngine } from '../providers/lab/engine.js';

const dirs: string[] = [];
/** A folder to be the whole PATH, holding these scripts (name -> body after the shebang). */
function pathWith(tools: Record<string, string>): string {
  const d = mkdtempSync(join(tmpdir(), 'berth-path-'));
  dirs.push(d);
  for (const [name, body] of Object.entries(tools)) {
    writeFileSync(join(d, name), `#!/bin/sh\n${body}\n`);
    chmodSync(join(d, name), 0o755);
  }
  return d;
}

// What the static client says on a machine with no engine.
const clientOnly = {
  docker: [
    'case "$1" in',
    '  --version) echo "Docker version 28.2.2, build e6534b4" ;;',
    '  *) echo "Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?" >&2; exit 1 ;;',
    'esac',
  ].join('\n'),
};
const works = (name: string) => `echo "${name} version 1.0"`;
const env = { ...process.env, DOCKER_HOST: '' };

test('a PATH with only a docker client: no engine answers, and the engine packages are to be installed', async () => {
  const c = await checkEngine({ path: pathWith(clientOnly), env });
  assert.is(c.answers, false);
  assert.match(c.why, /Cannot connect to the Docker daemon/);
  assert.equal(c.missing, ['dockerd', 'containerd', 'runc']);
  assert.ok(packagesFor(c.missing).includes('docker.io'), `packages: ${packagesFor(c.missing).join(' ')}`);
});

test('client, dockerd, containerd and runc that run, but no daemon yet: nothing to install (berth starts dockerd)', async () => {
  const c = await checkEngine({ path: pathWith({ ...clientOnly, dockerd: works('dockerd'), containerd: works('containerd'), runc: works('runc') }), env });
  assert.is(c.answers, false);
  assert.equal(c.missing, []);
});

test('a dockerd that is on PATH but does not run counts as missing', async () => {
  const path = pathWith({ ...clientOnly, dockerd: 'echo "dockerd: error while loading shared libraries" >&2; exit 127', containerd: works('containerd'), runc: works('runc') });
  assert.equal(await missingTools(['dockerd', 'containerd', 'runc'], path), ['dockerd']);
});

test('no docker client at all: the client is to be installed with the engine', async () => {
  const c = await checkEngine({ path: pathWith({}), env });
  assert.is(c.cli, undefined);
  assert.equal(c.missing, ['dockerd', 'containerd', 'runc', 'docker']);
});

test('an engine that answers needs nothing, except runc where the privileged fix wraps it', async () => {
  const answering = {
    docker: 'case "$1" in --version) echo "Docker version 28.2.2" ;; version) echo 1.41 ;; *) exit 1 ;; esac',
  };
  const plain = await checkEngine({ path: pathWith(answering), env });
  assert.is(plain.answers, true);
  assert.equal(plain.missing, []);
  const fix = await checkEngine({ path: pathWith(answering), env, privfix: true });
  assert.equal(fix.missing, ['runc']);
});

test.after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

test.run();
