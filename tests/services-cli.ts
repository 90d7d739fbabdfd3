// Test helper: berth's fleet commands (ps, logs, exec, run) as their own small CLI, so that the
// services tests run them the way an operator does, whether or not cli/main.ts registers them.
import { Command, CommanderError } from 'commander';
import { registerExec } from '../cli/commands/exec.js';
import { registerLogs } from '../cli/commands/logs.js';
import { registerPs } from '../cli/commands/ps.js';
import { registerRun } from '../cli/commands/run.js';

const program = new Command('berth').exitOverride();
registerPs(program);
registerLogs(program);
registerExec(program);
registerRun(program);
program.parseAsync(process.argv).catch((e: unknown) => {
  process.exitCode = e instanceof CommanderError ? (e.exitCode === 0 ? 0 : 2) : 1;
  if (!(e instanceof CommanderError)) throw e;
});
