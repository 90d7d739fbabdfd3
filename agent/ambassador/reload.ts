// Puts a new haproxy.cfg in place and makes the running haproxy use it without dropping a
// connection: the config is checked first (`haproxy -c`, a broken file never replaces a working
// one), then SIGUSR2 to the master (master-worker mode): it starts new workers on the new
// config and lets the old ones finish their established connections (the -sf behaviour).
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type Docker from 'dockerode';
import { capture } from '../../modules/lib/exec.js';
import { removeFile, writeJson } from '../registry/json-file.js';
import { HAPROXY } from './image.js';
import { configDir, configFile, containerName } from './spec.js';

export type ReloadResult = { ok: true; changed: boolean } | { ok: false; message: string; detail?: string };

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
  mkdirSync(dir, { recursive: true });
  const tmp = join(dir, `.haproxy.cfg.${process.pid}`);
  writeFileSync(tmp, text, { mode: 0o644 });
  const check = await capture([HAPROXY, '-c', '-q', '-f', tmp]);
  if (check.code !== 0 && !check.spawnError) {
    removeFile(tmp);
    return { ok: false, message: `haproxy rejected the rendered config of ambassador ${name}`, detail: (check.stderr || check.stdout).trim() };
  }
  renameSync(tmp, configFile(name));
  if (!opts.reload) return { ok: true, changed: true };
  try {
    await docker.getContainer(containerName(name)).kill({ signal: 'SIGUSR2' });
  } catch (e) {
    // Not running (yet): it reads the new file when it starts.
    if (!/is not running|No such container/i.test((e as Error).message)) return { ok: false, message: `reloading ambassador ${name}: ${(e as Error).message}` };
  }
  writeJson(join(dir, 'reloaded.json'), { at: new Date().toISOString() });
  return { ok: true, changed: true };
}
