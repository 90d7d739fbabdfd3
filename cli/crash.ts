// The last line of defence against stack traces on an operator's screen: anything that escapes
// a command's action (an error thrown from a callback, a rejected promise nobody awaited) is
// written to the debug log and reported in one line, like every other internal error.
import { ExitCode } from '../controller/errors.js';
import { appendDebugLog } from './debug-log.js';

const debug = (): boolean => process.argv.includes('--debug') || process.env.BERTH_DEBUG === '1';

/** Appends to the debug log that cli/run-action.ts also writes; returns its path. */
export function writeDebugLog(what: string, e: unknown): string {
  return appendDebugLog(`${what}: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
}

export function installCrashHandler(): void {
  const crash = (e: unknown) => {
    const log = writeDebugLog('uncaught', e);
    if (debug()) process.stderr.write(`${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    const msg = e instanceof Error ? e.message : String(e);
    process.stderr.write(`berth: internal error: ${msg}\n  hint: this is a bug in berth; details are in ${log} (rerun with --debug to print them)\n`);
    process.exit(ExitCode.failed);
  };
  process.on('uncaughtException', crash);
  process.on('unhandledRejection', crash);
}
