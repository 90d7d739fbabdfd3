// `berth`: the command tree. Each command lives in cli/commands/ and loads its implementation
// lazily, so `berth --help` or a no-op run does not pay for modules it never uses.
import { Command, CommanderError } from 'commander';
import { ExitCode } from '../controller/errors.js';
import { registerApply } from './commands/apply.js';
import { registerLab } from './commands/lab.js';
import { registerValidate } from './commands/validate.js';
import { registerVersion } from './commands/version.js';
import { registerInventory } from './commands/inventory.js';
import { registerExec } from './commands/exec.js';
import { registerLogs } from './commands/logs.js';
import { registerPs } from './commands/ps.js';
import { registerReleases } from './commands/releases.js';
import { registerRun } from './commands/run.js';
import { registerServices } from './commands/services.js';
import { registerLock } from './commands/lock.js';
import { finishCommands } from './help.js';
import { installCrashHandler } from './crash.js';

installCrashHandler();

// `berth ... | head` closes our stdout early: that is the reader's choice, not an error.
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw e;
});

const program = new Command('berth')
  .description('Converge fleets of Linux hosts to declarative playbooks of host configuration and containerized services.')
  .option('--debug', 'print internal error details (stack traces)')
  .showHelpAfterError('(run `berth --help` for usage)')
  .exitOverride();

registerValidate(program);
registerApply(program);
registerLab(program);
registerVersion(program);
registerInventory(program);
registerPs(program);
registerLogs(program);
registerExec(program);
registerRun(program);
registerReleases(program);
registerServices(program);
registerLock(program);
// After every register*: env twins and examples for all commands (cli/help.ts).
finishCommands(program);

try {
  await program.parseAsync(process.argv);
} catch (e) {
  if (e instanceof CommanderError) {
    // --help and --version end here with code 0; a bad flag or argument is bad input.
    process.exitCode = e.exitCode === 0 ? 0 : ExitCode.badInput;
  } else {
    throw e;
  }
}
