// Every command's action goes through here: one place turns error values into messages and exit
// codes, and keeps stack traces off the screen unless --debug asks for them.
import { BerthFailure, ExitCode, formatError } from '../controller/errors.js';
import { appendDebugLog } from './debug-log.js';

export type Action<A extends unknown[]> = (...args: A) => Promise<number | void>;

export function action<A extends unknown[]>(fn: Action<A>): (...args: A) => Promise<void> {
  return async (...args: A) => {
    let code: number;
    try {
      code = (await fn(...args)) ?? ExitCode.ok;
    } catch (e) {
      code = report(e);
    }
    process.exitCode = code;
  };
}

function report(e: unknown): number {
  if (e instanceof BerthFailure) {
    for (const err of e.errors) process.stderr.write(`berth: ${formatError(err)}\n`);
    return e.errors[0]?.exit ?? ExitCode.failed;
  }
  const text = e instanceof Error ? (e.stack ?? e.message) : String(e);
  const log = appendDebugLog(text);
  if (process.argv.includes('--debug') || /^(1|true|yes)$/i.test(process.env.BERTH_DEBUG ?? '')) process.stderr.write(`${text}\n`);
  const msg = e instanceof Error ? e.message : String(e);
  process.stderr.write(`berth: internal error: ${msg}\n  hint: this is a bug in berth; details are in ${log} (rerun with --debug to print them)\n`);
  return ExitCode.failed;
}
