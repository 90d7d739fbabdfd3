// Where berth's own files are, whether it runs from the bundle in dist/ or from source (tests).
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

let root: string | undefined;

export function packageRoot(): string {
  if (root) return root;
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const up = dirname(dir);
    if (up === dir) throw new Error('berth: cannot find package.json above ' + fileURLToPath(import.meta.url));
    dir = up;
  }
  return (root = dir);
}

/** The agent bundle that is pushed to hosts. */
export const agentBundlePath = (): string => join(packageRoot(), 'dist', 'agent.mjs');

/** Big reusable artifacts (host images, apt repositories, compressed runtimes), keyed by content. */
export function cacheDir(): string {
  return process.env.BERTH_CACHE_DIR || join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'berth');
}

/** Operator state: labs, their keys and inventories. */
export function stateDir(): string {
  return process.env.BERTH_STATE_DIR || join(process.env.XDG_STATE_HOME || join(homedir(), '.local', 'state'), 'berth');
}
