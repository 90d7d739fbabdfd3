// `node <agent> --watch`: the agent started as the host's watcher daemon instead of as the
// controller's peer on an SSH channel. agent/main.ts asks this first, before it speaks the protocol.
import { WATCH_FLAG } from './pidfile.js';

export async function runWatcherIfAsked(argv: string[]): Promise<void> {
  if (argv[2] !== WATCH_FLAG) return;
  const { runWatcher } = await import('./daemon.js');
  await runWatcher();
}
