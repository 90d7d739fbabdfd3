// Lab host containers on the engine: find them by label, start them, read them back, remove them.
import { err, ExitCode, ok, type Result } from '../../controller/errors.js';
import { docker, lines, type Engine } from './docker.js';
import { APT_MOUNT, containerName, LABEL, LABEL_HOST, LABEL_INIT, LABEL_KEY, LABEL_STATE, networkName } from './names.js';
import type { HostInit } from './recipe.js';
import { lastLine } from './run.js';

export interface HostContainer {
  id: string;
  container: string;
  /** h1, h2, ... */
  name: string;
  lab: string;
  status: string;
  running: boolean;
  image: string;
  keyFingerprint: string;
  stateDir: string;
  init: HostInit;
  /** The published sshd port on 127.0.0.1, when running. */
  port?: number;
  ip?: string;
  /** Anonymous volumes (/var/lib/docker), so that tests can check they go away. */
  volumes: string[];
}

interface Inspect {
  Id: string;
  Name: string;
  State: { Status: string; Running: boolean };
  Config: { Image: string; Labels: Record<string, string> | null };
  NetworkSettings: { Ports: Record<string, { HostIp: string; HostPort: string }[] | null> | null; Networks: Record<string, { IPAddress: string }> | null };
  Mounts: { Type: string; Name?: string; Destination: string }[] | null;
}

const hostIndex = (name: string): number => Number(name.replace(/^h/, '')) || 0;

/** Every container of a lab (or of all labs), sorted h1, h2, ..., h10. */
export async function labContainers(e: Engine, lab?: string): Promise<Result<HostContainer[]>> {
  const ps = await docker(e, ['ps', '-aq', '--no-trunc', '--filter', lab ? `label=${LABEL}=${lab}` : `label=${LABEL}`]);
  if (ps.code !== 0) return err({ code: 'lab.docker', message: `docker ps failed: ${lastLine(ps)}`, exit: ExitCode.failed });
  const ids = lines(ps.stdout);
  if (ids.length === 0) return ok([]);
  const ins = await docker(e, ['inspect', ...ids]);
  // A container removed between ps and inspect makes inspect fail for that id only; stdout still lists the rest.
  let parsed: Inspect[];
  try {
    parsed = JSON.parse(ins.stdout || '[]') as Inspect[];
  } catch {
    return err({ code: 'lab.docker', message: `docker inspect failed: ${lastLine(ins)}`, exit: ExitCode.failed });
  }
  const hosts = parsed.map((c): HostContainer => {
    const labels = c.Config.Labels ?? {};
    const labName = labels[LABEL] ?? '';
    const port = c.NetworkSettings.Ports?.['22/tcp']?.find((p) => p.HostIp === '127.0.0.1' || p.HostIp === '0.0.0.0')?.HostPort;
    return {
      id: c.Id,
      container: c.Name.replace(/^\//, ''),
      name: labels[LABEL_HOST] ?? '',
      lab: labName,
      status: c.State.Status,
      running: c.State.Running,
      image: c.Config.Image,
      keyFingerprint: labels[LABEL_KEY] ?? '',
      stateDir: labels[LABEL_STATE] ?? '',
      init: labels[LABEL_INIT] === 'systemd' ? 'systemd' : 'tini',
      port: port ? Number(port) : undefined,
      ip: c.NetworkSettings.Networks?.[networkName(labName)]?.IPAddress || undefined,
      volumes: (c.Mounts ?? []).filter((m) => m.Type === 'volume' && m.Name).map((m) => m.Name!),
    };
  });
  return ok(hosts.sort((a, b) => a.lab.localeCompare(b.lab) || hostIndex(a.name) - hostIndex(b.name)));
}

export interface NewHost {
  lab: string;
  name: string;
  image: string;
  aptRepo: string;
  publicKey: string;
  keyFingerprint: string;
  stateDir: string;
  init: HostInit;
}

export async function startHost(e: Engine, h: NewHost): Promise<Result<void>> {
  const container = containerName(h.lab, h.name);
  const args = [
    'run', '--detach',
    '--name', container,
    '--hostname', h.name,
    '--label', `${LABEL}=${h.lab}`,
    '--label', `${LABEL_HOST}=${h.name}`,
    '--label', `${LABEL_KEY}=${h.keyFingerprint}`,
    '--label', `${LABEL_STATE}=${h.stateDir}`,
    '--label', `${LABEL_INIT}=${h.init}`,
    '--network', networkName(h.lab),
    '--network-alias', h.name,
    // Hosts run their own dockerd later: privileged, and /var/lib/docker on a volume (overlay2
    // cannot stack on the container's own overlay root).
    '--privileged',
    ...(e.runtime ? ['--runtime', e.runtime] : []),
    '--volume', '/var/lib/docker',
    // systemd wants /run and /run/lock as fresh tmpfs on every boot, as on a real machine.
    ...(h.init === 'systemd' ? ['--tmpfs', '/run', '--tmpfs', '/run/lock'] : []),
    '--volume', `${h.aptRepo}:${APT_MOUNT}:ro`,
    '--publish', '127.0.0.1::22',
    '--env', `BERTH_AUTHORIZED_KEY=${h.publicKey}`,
    h.image,
  ];
  const r = await docker(e, args);
  if (r.code === 0) return ok(undefined);
  // `docker run -d` leaves a created container behind when the start fails.
  await docker(e, ['rm', '--force', '--volumes', container]);
  const caps = /unable to apply caps/.test(r.stderr);
  return err({
    code: 'lab.host-start',
    message: `cannot start lab host ${h.name}: ${lastLine(r)}`,
    where: container,
    hint: caps ? 'this machine cannot grant every capability to privileged containers; set BERTH_LAB_PRIVFIX=1 so that berth uses its runc wrapper' : undefined,
    exit: ExitCode.failed,
  });
}

export async function removeContainers(e: Engine, ids: string[]): Promise<Result<void>> {
  if (ids.length === 0) return ok(undefined);
  const r = await docker(e, ['rm', '--force', '--volumes', ...ids]);
  if (r.code !== 0 && !/No such container/.test(r.stderr)) return err({ code: 'lab.docker', message: `removing lab hosts failed: ${lastLine(r)}`, exit: ExitCode.failed });
  return ok(undefined);
}

/** The host's SSH host key, once its entrypoint has made one. */
export async function readHostKey(e: Engine, container: string): Promise<Result<string>> {
  const r = await docker(e, ['exec', container, 'cat', '/etc/ssh/ssh_host_ed25519_key.pub']);
  const key = r.stdout.trim().split(/\s+/).slice(0, 2).join(' ');
  if (r.code !== 0 || !key.startsWith('ssh-ed25519 ')) return err({ code: 'lab.host-key', message: `cannot read the SSH host key of ${container}: ${lastLine(r)}`, where: container, exit: ExitCode.failed });
  return ok(key);
}

export interface LabNetwork {
  name: string;
  subnet: string;
}

export async function ensureNetwork(e: Engine, lab: string): Promise<Result<LabNetwork>> {
  const name = networkName(lab);
  const subnetOf = async (): Promise<string | undefined> => {
    const r = await docker(e, ['network', 'inspect', '--format', '{{range .IPAM.Config}}{{.Subnet}} {{end}}', name]);
    return r.code === 0 ? r.stdout.trim().split(' ')[0] ?? '' : undefined;
  };
  let subnet = await subnetOf();
  if (subnet === undefined) {
    const c = await docker(e, ['network', 'create', '--driver', 'bridge', '--label', `${LABEL}=${lab}`, name]);
    if (c.code !== 0 && !/already exists/.test(c.stderr)) return err({ code: 'lab.network', message: `cannot create network ${name}: ${lastLine(c)}`, exit: ExitCode.failed });
    subnet = (await subnetOf()) ?? '';
  }
  return ok({ name, subnet });
}

export async function removeNetwork(e: Engine, lab: string): Promise<Result<boolean>> {
  const name = networkName(lab);
  const r = await docker(e, ['network', 'rm', name]);
  if (r.code === 0) return ok(true);
  if (/not found|No such network/i.test(r.stderr)) return ok(false);
  return err({ code: 'lab.network', message: `cannot remove network ${name}: ${lastLine(r)}`, exit: ExitCode.failed });
}
