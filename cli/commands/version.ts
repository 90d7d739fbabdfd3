// `berth version`: what is installed, for bug reports and for checking an agent matches.
import { readFileSync } from 'node:fs';
import { Option, type Command } from 'commander';
import { PROTOCOL_VERSION } from '../../protocol/agent-protocol.js';
import { EVENTS_VERSION } from '../../controller/run/events.js';
import { packageRoot } from '../../controller/paths.js';
import { action } from '../run-action.js';

export function registerVersion(program: Command): void {
  program
    .command('version')
    .description('print the versions of berth, its agent protocol and its --json events')
    .addOption(new Option('--json', 'print them as one JSON object').env('BERTH_JSON'))
    .addHelpText('after', '\nExample:\n  berth version --json')
    .action(
      action(async (flags: { json?: boolean }) => {
        const pkg = JSON.parse(readFileSync(`${packageRoot()}/package.json`, 'utf8')) as { version: string };
        const v = { berth: pkg.version, protocol: PROTOCOL_VERSION, events: EVENTS_VERSION, node: process.versions.node };
        process.stdout.write(flags.json ? `${JSON.stringify(v)}\n` : `berth ${v.berth} (agent protocol ${v.protocol}, events v${v.events}, node ${v.node})\n`);
      }),
    );
}
