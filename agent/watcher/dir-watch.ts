// A nudge when anything under a directory changes, so that a schedule file written or removed
// by hand (or by an agent that could not signal) is picked up at once, not at the next rescan.
// Recursive fs.watch needs Node 20 on Linux; on an older Node the SIGHUP from the agent and the
// periodic rescan are what remain, which is why a failure here is only logged.
import { mkdirSync, watch, type FSWatcher } from 'node:fs';

export function watchDir(dir: string, onChange: () => void, log: (line: string) => void): () => void {
  let w: FSWatcher | undefined;
  let timer: NodeJS.Timeout | undefined;
  try {
    mkdirSync(dir, { recursive: true });
    // A write is a temp file and a rename: several events, one look.
    w = watch(dir, { recursive: true, persistent: false }, () => {
      clearTimeout(timer);
      timer = setTimeout(onChange, 200);
    });
    w.on('error', (e) => log(`watching ${dir}: ${e.message}`));
  } catch (e) {
    log(`not watching ${dir} (${(e as Error).message}); relying on SIGHUP and the rescan`);
  }
  return () => {
    clearTimeout(timer);
    w?.close();
  };
}
