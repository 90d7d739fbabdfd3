// The live view's entry point: the only function the rest of berth calls to show a run with
// ink. It is loaded by dynamic import (see cli/report/open.ts), so `--help`, `--json` and
// plain runs never load ink or React.
import { render } from 'ink';
import { writeDebugLog } from '../crash.js';
import type { Reporter } from '../report/reporter.js';
import { plainReporter } from '../report/plain.js';
import type { ViewEvent } from '../report/model.js';
import { RunView, ViewGuard } from './RunView.js';
import { RunStore } from './store.js';

export interface LiveOptions {
  stdout?: NodeJS.WriteStream;
  clock?: () => number;
  tickMs?: number;
  /** Events no faster than this reach the screen. */
  throttleMs?: number;
  verbose?: boolean;
}

export function renderRun(opts: LiveOptions = {}): Reporter {
  const stdout = opts.stdout ?? process.stdout;
  const store = new RunStore(opts.clock ?? (() => performance.now()), opts.throttleMs ?? 50);
  let fallback: ((e: ViewEvent) => void) | undefined;
  const onError = (e: Error) => {
    const log = writeDebugLog('live view', e);
    process.stderr.write(`berth: the live view stopped (${e.message}); plain lines from here on\n  hint: this is a bug in berth; details are in ${log}\n`);
    fallback = plainReporter({ verbose: !!opts.verbose, color: false, out: stdout }) as (e: ViewEvent) => void;
  };
  const app = render(
    <ViewGuard onError={onError}>
      <RunView store={store} tickMs={opts.tickMs ?? 100} />
    </ViewGuard>,
    // Ctrl-C stays a signal for run-apply (cancel after the current task), not ink's to handle.
    { stdout, exitOnCtrlC: false, patchConsole: false },
  );
  return {
    sink: (e) => (fallback ? fallback(e) : store.push(e)),
    close: async () => {
      store.flush();
      // React commits the last update on its own schedule: let it land before unmounting.
      await new Promise((r) => setImmediate(r));
      app.unmount();
      await app.waitUntilExit();
    },
  };
}
