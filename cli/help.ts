// Conventions every command follows, applied once after all commands are registered: each
// flag has a BERTH_* environment twin (CI systems set flags without touching argv), and each
// command's --help ends with an example. Commands that bring their own keep them; this fills
// the gaps, so a command added later gets its env twins without thinking about it.
import type { Command } from 'commander';

/** Flags that mean the same on every command share one variable. */
const SHARED = new Set(['json', 'plain', 'verbose', 'debug', 'inventory', 'limit']);

/** Examples for commands registered without one (their files belong to other parts of berth). */
const EXAMPLES: Record<string, string[]> = {
  validate: ['berth validate playbooks/demo.yml', 'berth validate site.yml inventories/prod.yml'],
  lab: ['berth lab up --hosts 3', 'berth lab status --json', 'berth lab down'],
  'lab up': ['berth lab up --name demo --hosts 3', 'berth lab up --name demo --init systemd'],
  'lab down': ['berth lab down --name demo'],
  'lab status': ['berth lab status --name demo --json'],
};

const EXIT_CODES = `
Exit codes:
  0    ok (with plan: the plan was computed)
  1    a task failed on at least one host
  2    bad input (playbook, inventory, flags, templates): nothing was contacted or changed
  3    a host was unreachable (the others were converged)
  4    a rollout was reverted or halted
  130  cancelled (Ctrl-C)

Run \`berth <command> --help\` for a command's flags and an example; docs/cli.md has them all.`;

export const commandPath = (c: Command): string => {
  const names: string[] = [];
  for (let x: Command | null = c; x?.parent; x = x.parent) names.unshift(x.name());
  return names.join(' ');
};

export function envName(c: Command, long: string): string {
  const flag = long.replace(/^--(no-)?/, '');
  const group = c.parent?.parent ? c.parent.name() : undefined;
  const parts = SHARED.has(flag) || !group ? [flag] : [group, flag];
  return `BERTH_${parts.join('_').replace(/-/g, '_').toUpperCase()}`;
}

export function finishCommands(program: Command): void {
  program.addHelpText('after', EXIT_CODES);
  const visit = (c: Command) => {
    for (const o of c.options) if (!o.envVar && o.long && o.long !== '--help' && o.long !== '--version') o.env(envName(c, o.long));
    // A mistake in a subcommand's flags points at that subcommand's help, not the whole tree's.
    if (c.parent) c.showHelpAfterError(`(run \`berth ${commandPath(c)} --help\` for usage)`);
    const examples = EXAMPLES[commandPath(c)];
    if (examples) c.addHelpText('after', `\nExample${examples.length > 1 ? 's' : ''}:\n${examples.map((e) => `  ${e}`).join('\n')}`);
    c.commands.forEach(visit);
  };
  visit(program);
}
