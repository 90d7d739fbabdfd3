// Test helper: `berth services` as its own small CLI, so the registry tests run it the way an
// operator does whether or not cli/main.ts registers it yet.
import { Command, CommanderError } from 'commander';
import { registerServices } from '../cli/commands/services.js';

const program = new Command('berth').exitOverride();
registerServices(program);
program.parseAsync(process.argv).catch((e: unknown) => {
  process.exitCode = e instanceof CommanderError ? (e.exitCode === 0 ? 0 : 2) : 1;
  if (!(e instanceof CommanderError)) throw e;
});
