// Puts a new haproxy.cfg in place and makes the running haproxy use it without dropping a
// connection: the config is checked first (`haproxy -c`, a broken file never replaces a working
// one), then SIGUSR2 to the master (master-worker mode): it starts new workers on the new
// config and lets the old ones finish their established connections (the -sf behaviour).
import { readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { renameInDir, writeAtomicSync } from '../../modules/lib/atomic-write.js';
import type Docker from 'dockerode';
import { capture } from '../../modules/lib/exec.js';
import { removeFile, writeJson } from '../registry/json-file.js';
import { reloadConfirmed } from './confirm-reload.js';
import { HAPROXY } from './image.js';
import { configDir, configFile, containerName } from './spec.js';

/** `signals`: SIGUSR2 sent before the master forked a worker on the new config (0: it never did). */
export type ReloadResult = { ok: true; changed: boolean; signals?: number } | { ok: false; message: string; detail?: string };

export const currentConfig = (name: string): string | undefined => {
  try {
    return readFileSync(configFile(name), 'utf8');
  } catch {
    return undefined;
  }
};

/** Writes the config when it differs, then reloads the container (when it runs). */
export async function applyConfig(docker: Docker, name: string, text: string, opts: { reload: boolean }): Promise<ReloadResult> {
  if (currentConfig(name) === text) return { ok: true, changed: false };
  const dir = configDir(name);
  // Written aside, checked, renamed into place: as root, through no link a user could have planted.
  const tmp = join(dir, `.haproxy.cfg.${process.pid}`);
  const written = writeAtomicSync(tmp, text, 0o644);
  if (!written.ok) return { ok: false, message: written.error.message };
  const check = await capture([HAPROXY, '-c', '-q', '-f', tmp]);
  if (check.code !== 0 && !check.spawnError) {
    removeFile(tmp);
    return { ok: false, message: `haproxy rejected the rendered config of ambassador ${name}`, detail: (check.stderr || check.stdout).trim() };
  }
  const placed = renameInDir(dir, basename(tmp), basename(configFile(name)));
  if (!placed.ok) return { ok: false, message: placed.error.message };
  if (!opts.reload) return { ok: true, changed: true };
  const signalled = await signalMaster(docker, name);
  if (!signalled.ok) return signalled;
  writeJson(join(dir, 'reloaded.json'), { at: new Date().toISOString() });
  return signalled;
}

/**
 * SIGUSR2 to haproxy's master, the container's first process, sent to its pid on this host
 * rather than through the engine: dockerd (20.10) takes every kill through its API as a manual
 * stop, and an unless-stopped container so marked stays down when the engine or the host
 * restarts. The API remains for an agent that may not signal root's processes. Returns once the
 * master forked a worker on the new config (signalled again if it lost the signal), so the
 * next reload never lands in the middle of this one.
 */
async function signalMaster(docker: Docker, name: string): Promise<ReloadResult> {
  const c = docker.getContainer(containerName(name));
  try {
    const info = await c.inspect();
    // Not running (yet): it reads the new file when it starts.
    if (!info.State.Running || !(info.State.Pid > 0)) return { ok: true, changed: true };
    const pid = info.State.Pid;
    let viaEngine = false;
    const send = async () => {
      if (!viaEngine) {
        try {
          process.kill(pid, 'SIGUSR2');
          return;
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code !== 'EPERM') throw e;
          viaEngine = true;
        }
      }
      await c.kill({ signal: 'SIGUSR2' });
    };
    const signals = await reloadConfirmed(pid, send).catch((e: NodeJS.ErrnoException) => {
      // Gone meanwhile: a new container reads the file when it starts.
      if (e.code !== 'ESRCH') throw e;
      return undefined;
    });
    return { ok: true, changed: true, ...(signals !== undefined ? { signals } : {}) };
  } catch (e) {
    if (/is not running|No such container/i.test((e as Error).message)) return { ok: true, changed: true };
    return { ok: false, message: `reloading ambassador ${name}: ${(e as Error).message}` };
  }
}
