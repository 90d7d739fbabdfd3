import type { Command } from 'commander';

// Placeholder until apply lands (issue 3).
export function registerApply(program: Command): void {
  program.command('apply <playbook>').alias('up').description('converge the targeted hosts to a playbook');
}
