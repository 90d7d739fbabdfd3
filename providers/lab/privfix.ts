// The privileged-container fix. Docker asks for every capability the kernel knows when a
// container is --privileged; on a VM whose bounding set lacks one (CAP_SYS_RESOURCE on some
// Firecracker VMs) runc then fails with "unable to apply caps". berth registers a runc wrapper,
// the runtime `berth-privfix`, that drops what the machine cannot grant, and uses it for lab
// hosts only where the bounding set is short. On an ordinary machine nothing changes.
import { existsSync, readFileSync } from 'node:fs';
import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { err, ExitCode, ok, type Result } from '../../controller/errors.js';
import { cacheDir } from '../../controller/paths.js';
import { readAsset } from './assets.js';
import { which } from './run.js';

export const PRIVFIX_RUNTIME = 'berth-privfix';
export const DAEMON_JSON = '/etc/docker/daemon.json';

/** True when this machine's capability bounding set is missing capabilities the kernel has. */
export function needsPrivfix(): boolean {
  const force = process.env.BERTH_LAB_PRIVFIX;
  if (force === '1') return true;
  if (force === '0') return false;
  try {
    const bnd = /^CapBnd:\s*([0-9a-f]+)$/m.exec(readFileSync('/proc/self/status', 'utf8'))?.[1];
    const last = Number(readFileSync('/proc/sys/kernel/cap_last_cap', 'utf8').trim());
    if (!bnd || !Number.isInteger(last)) return false;
    const full = (1n << BigInt(last + 1)) - 1n;
    return (BigInt('0x' + bnd) & full) !== full;
  } catch {
    return false;
  }
}

const q = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

/**
 * Writes the wrapper (a tiny sh script, so runc keeps every inherited fd through `exec`) and its
 * filter into cacheDir()/privfix, outside cacheDir()/lab so that clearing the image cache does not
 * break a daemon that has the runtime registered. Returns the wrapper's path.
 */
export async function writePrivfix(): Promise<Result<string>> {
  const runc = await which('runc');
  if (!runc) return err({ code: 'lab.runc-missing', message: 'runc is not installed, so the privileged-container fix cannot be set up', hint: 'install the Debian package runc (it comes with docker.io)', exit: ExitCode.badInput });
  const dir = join(cacheDir(), 'privfix');
  await mkdir(dir, { recursive: true });
  const filter = join(dir, 'privfix-filter.cjs');
  const wrapper = join(dir, 'runc-privfix');
  const script = [
    '#!/bin/sh',
    '# Written by berth (providers/lab/privfix.ts): drops capabilities outside this machine\'s',
    '# bounding set from the bundle before runc creates a container, then runs runc itself.',
    'for a in "$@"; do',
    `  case "$a" in create|run|exec) ${q(process.execPath)} ${q(filter)} "$@" || exit 1; break ;; esac`,
    'done',
    `exec ${q(runc)} "$@"`,
    '',
  ].join('\n');
  await writeIfChanged(filter, readAsset('privfix-filter.cjs'), 0o644);
  await writeIfChanged(wrapper, script, 0o755);
  return ok(wrapper);
}

async function writeIfChanged(path: string, text: string, mode: number): Promise<void> {
  const old = await readFile(path, 'utf8').catch(() => undefined);
  if (old === text) return;
  const tmp = `${path}.tmp-${process.pid}`;
  await writeFile(tmp, text);
  await chmod(tmp, mode);
  await rename(tmp, path);
}

/** daemon.json as an object, or undefined when absent. */
export async function readDaemonJson(): Promise<Result<Record<string, unknown> | undefined>> {
  if (!existsSync(DAEMON_JSON)) return ok(undefined);
  try {
    const v: unknown = JSON.parse(await readFile(DAEMON_JSON, 'utf8'));
    if (v && typeof v === 'object' && !Array.isArray(v)) return ok(v as Record<string, unknown>);
  } catch {
    // reported below
  }
  return err({ code: 'lab.daemon-json', message: `${DAEMON_JSON} is not a JSON object`, where: DAEMON_JSON, hint: 'fix the file or remove it', exit: ExitCode.badInput });
}

/** Adds the runtime to daemon.json (keeping everything else). Returns true when the file changed. */
export async function addRuntimeToDaemonJson(wrapper: string): Promise<Result<boolean>> {
  const cur = await readDaemonJson();
  if (!cur.ok) return cur;
  const conf = cur.value ?? {};
  const runtimes = (conf.runtimes && typeof conf.runtimes === 'object' ? conf.runtimes : {}) as Record<string, { path?: string }>;
  if (runtimes[PRIVFIX_RUNTIME]?.path === wrapper) return ok(false);
  conf.runtimes = { ...runtimes, [PRIVFIX_RUNTIME]: { path: wrapper } };
  await mkdir('/etc/docker', { recursive: true });
  const tmp = `${DAEMON_JSON}.tmp-${process.pid}`;
  await writeFile(tmp, JSON.stringify(conf, null, 2) + '\n');
  await rename(tmp, DAEMON_JSON);
  return ok(true);
}
