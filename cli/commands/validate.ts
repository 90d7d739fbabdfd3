import type { Command } from 'commander';

// Placeholder until the validator lands (issue 2).
export function registerValidate(program: Command): void {
  program.command('validate <files...>').description('check playbooks and inventories without connecting anywhere');
}
