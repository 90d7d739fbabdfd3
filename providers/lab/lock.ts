// A lock between berth processes (two test files starting labs at once must not both run
// mmdebstrap or both start dockerd). mkdir is atomic; the owner's pid lets a waiter take over
// the lock of a process that died holding it.
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';

export type Unlock = () => Promise<void>;

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export async function lock(path: string, onWait?: (ownerPid: number) => void, timeoutMs = 30 * 60_000): Promise<Unlock> {
  await mkdir(dirname(path), { recursive: true });
  const deadline = Date.now() + timeoutMs;
  let told = false;
  for (;;) {
    try {
      await mkdir(path);
      await writeFile(join(path, 'pid'), String(process.pid));
      return async () => {
        await rm(path, { recursive: true, force: true });
      };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    const owner = Number(await readFile(join(path, 'pid'), 'utf8').catch(() => ''));
    // No pid yet: the owner is between mkdir and writeFile; give it a moment before judging.
    if (owner && !alive(owner)) {
      await rm(path, { recursive: true, force: true });
      continue;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for lock ${path} (held by pid ${owner})`);
    if (owner && !told && onWait) {
      onWait(owner);
      told = true;
    }
    await new Promise((r) => setTimeout(r, 300));
  }
}
