// Facts the agent reports in its hello, so that the controller renders plans without an extra
// round trip. Everything here reads local files or the runtime's socket; nothing runs a shell.
import { existsSync, readFileSync, statfsSync } from 'node:fs';
import os from 'node:os';
import type { HostFacts } from '../protocol/agent-protocol.js';
import { dockerApi, dockerSocketUsable } from '../modules/lib/docker-api.js';

function osRelease(): HostFacts['os'] {
  let text = '';
  try {
    text = readFileSync('/etc/os-release', 'utf8');
  } catch {
    return { id: 'unknown', version: '', name: os.type(), family: 'unknown' };
  }
  const kv = Object.fromEntries(
    text
      .split('\n')
      .map((l) => /^([A-Z_]+)=(.*)$/.exec(l))
      .filter((m): m is RegExpExecArray => m !== null)
      // Shell syntax: either quote (the controller's facts schema refuses a stray one).
      .map((m) => [m[1], m[2].replace(/^"(.*)"$|^'(.*)'$/, '$1$2')]),
  );
  const like = `${kv.ID ?? ''} ${kv.ID_LIKE ?? ''}`;
  const family = /debian|ubuntu/.test(like) ? 'debian' : /rhel|fedora|centos/.test(like) ? 'redhat' : /alpine/.test(like) ? 'alpine' : 'unknown';
  return { id: kv.ID ?? 'unknown', version: kv.VERSION_ID ?? '', name: kv.PRETTY_NAME ?? kv.NAME ?? '', family };
}

function initSystem(): HostFacts['init'] {
  if (existsSync('/run/systemd/system')) return 'systemd';
  if (existsSync('/run/openrc') || existsSync('/sbin/openrc')) return 'openrc';
  try {
    const comm = readFileSync('/proc/1/comm', 'utf8').trim();
    return comm === 'systemd' ? 'systemd' : 'none';
  } catch {
    return 'unknown';
  }
}

const ARCH: Record<string, string> = { x64: 'x86_64', arm64: 'aarch64', arm: 'armv7l', ia32: 'i686' };

async function runtimeFacts(): Promise<Pick<HostFacts, 'runtime' | 'containers' | 'images'>> {
  const installed = existsSync('/usr/bin/dockerd') || existsSync('/usr/sbin/dockerd') || existsSync('/usr/local/bin/dockerd');
  // No socket, or none this user may open: the request could only fail, so skip it.
  const version = dockerSocketUsable() ? await dockerApi<{ Version: string }>('GET', '/version') : ({ ok: false } as const);
  if (!version.ok) return { runtime: { installed, engine: installed ? 'docker' : undefined, running: false }, containers: [] };
  const filters = encodeURIComponent(JSON.stringify({ label: ['berth.service'] }));
  const list = await dockerApi<Array<{ Id: string; Names: string[]; State: string; Labels: Record<string, string> }>>(
    'GET',
    `/containers/json?all=1&filters=${filters}`,
  );
  const containers = list.ok
    ? list.value.map((c) => ({
        id: c.Id.slice(0, 12),
        name: (c.Names[0] ?? '').replace(/^\//, ''),
        service: c.Labels['berth.service'] ?? '',
        release: c.Labels['berth.release'],
        state: c.State,
      }))
    : [];
  const images = await dockerApi<Array<{ Id: string }>>('GET', '/images/json');
  return { runtime: { installed: true, engine: 'docker', version: version.value.Version, running: true }, containers, images: images.ok ? images.value.map((i) => i.Id) : [] };
}

export async function gatherFacts(): Promise<HostFacts> {
  let disk = { path: '/', totalBytes: 0, freeBytes: 0 };
  try {
    const s = statfsSync('/');
    disk = { path: '/', totalBytes: s.blocks * s.bsize, freeBytes: s.bavail * s.bsize };
  } catch {
    // statfs is missing on very old Node versions; disk facts then stay zero.
  }
  const user = os.userInfo();
  return {
    hostname: os.hostname(),
    os: osRelease(),
    arch: ARCH[process.arch] ?? process.arch,
    kernel: os.release(),
    cpus: os.cpus().length,
    memoryBytes: os.totalmem(),
    disk,
    init: initSystem(),
    user: { name: user.username, uid: user.uid },
    node: process.versions.node,
    ...(await runtimeFacts()),
    time: new Date().toISOString(),
  };
}
