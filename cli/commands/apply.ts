// `berth apply` (alias `up`) and `berth plan`: validate, resolve the inventory, then converge.
// Flags have BERTH_* environment twins so CI systems can set them without touching argv.
import { Option, type Command } from 'commander';
import { action } from '../run-action.js';

export interface ApplyFlags {
  inventory?: string;
  limit?: string;
  extraVars: string[];
  check?: boolean;
  diff?: boolean;
  forks: string;
  json?: boolean;
  plain?: boolean;
  verbose?: boolean;
  acceptNewHostKeys?: boolean;
  tags?: string;
  skipTags?: string;
  /** apply only: why this run holds the deploy locks, shown to whoever it refuses. */
  lockReason?: string;
  /** `berth promote`: go on past a rollout's canary batch. */
  promote?: boolean;
  /** --no-relay: hosts get content from the controller only. */
  relay?: boolean;
}

function runFlags(cmd: Command): Command {
  return cmd
    .addOption(new Option('-i, --inventory <file>', 'inventory file (overrides the playbook\'s inventory:)').env('BERTH_INVENTORY'))
    .addOption(new Option('-l, --limit <pattern>', 'only hosts matching this pattern (e.g. web, h1:h2, all:!h3)').env('BERTH_LIMIT'))
    .addOption(new Option('-e, --extra-vars <key=value>', 'set a variable (highest precedence); repeatable; VALUE is parsed as YAML').argParser((v: string, prev: string[] = []) => [...prev, v]).default([]))
    .addOption(new Option('-t, --tags <tags>', 'only tasks with these tags (comma-separated)').env('BERTH_TAGS'))
    .addOption(new Option('--skip-tags <tags>', 'leave out tasks with these tags (comma-separated)').env('BERTH_SKIP_TAGS'))
    .addOption(new Option('-f, --forks <n>', 'hosts worked on at once').env('BERTH_FORKS').default('50'))
    .addOption(new Option('--json', 'one JSON event per line on stdout (schema: docs/events.md)').env('BERTH_JSON'))
    .addOption(new Option('--plain', 'plain lines even on a terminal (no live view); the default when stdout is not a TTY or CI is set').env('BERTH_PLAIN'))
    .addOption(new Option('-v, --verbose', 'show every output line and change').env('BERTH_VERBOSE'))
    .addOption(new Option('--no-relay', 'send all content from the controller: hosts do not pass large content (image layers) on to each other').env('BERTH_NO_RELAY'))
    .addOption(new Option('--accept-new-host-keys', 'trust and record the host keys of hosts not yet in known_hosts').env('BERTH_ACCEPT_NEW_HOST_KEYS'));
}

export function registerApply(program: Command): void {
  runFlags(
    program
      .command('apply <playbook>')
      .alias('up')
      .description('converge the targeted hosts to a playbook')
      .addOption(new Option('-C, --check', 'report what would change and change nothing').env('BERTH_CHECK'))
      .addOption(new Option('-D, --diff', 'show diffs of what changes').env('BERTH_DIFF'))
      .addOption(new Option('--lock-reason <text>', 'why this run holds the hosts\' deploy locks: shown to anyone it refuses and by `berth lock status`').env('BERTH_LOCK_REASON'))
      .addHelpText('after', '\nExamples:\n  berth apply playbooks/demo.yml\n  berth apply site.yml -i prod.yml --limit web -e app_version=1.3.0'),
  ).action(action(async (playbook: string, flags: ApplyFlags) => (await import('../run-apply.js')).runApply(playbook, flags)));

  runFlags(
    program
      .command('promote <playbook>')
      .description('continue a rollout that paused after its canary batch: apply the playbook to the remaining hosts, batch by batch')
      .addOption(new Option('--lock-reason <text>', 'why this run holds the hosts\' deploy locks').env('BERTH_LOCK_REASON'))
      .addHelpText('after', '\nA play with `rollout: {canary: 1}` stops after its canary hosts converged healthy;\npromote runs the same playbook again without that pause (the canaries are already\nat the new release, so they do nothing).\n\nExample:\n  berth promote playbooks/demo.yml'),
  ).action(action(async (playbook: string, flags: ApplyFlags) => (await import('../run-apply.js')).runApply(playbook, { ...flags, promote: true })));

  runFlags(
    program
      .command('plan <playbook>')
      .description('show what apply would change on each host, with diffs; changes nothing')
      .addHelpText('after', '\nExample:\n  berth plan playbooks/demo.yml --limit h1'),
  ).action(action(async (playbook: string, flags: ApplyFlags) => (await import('../run-apply.js')).runApply(playbook, { ...flags, check: true, diff: true })));
}
