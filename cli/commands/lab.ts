import type { Command } from 'commander';

// Placeholder until the lab lands (issue 2).
export function registerLab(program: Command): void {
  program.command('lab').description('a local fleet of machine containers for tests and demos');
}
