import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { PROTOCOL_VERSION } from '../../protocol/agent-protocol.js';
import { packageRoot } from '../../controller/paths.js';

export function registerVersion(program: Command): void {
  program
    .command('version')
    .description('print the versions of berth and its agent protocol')
    .action(() => {
      const pkg = JSON.parse(readFileSync(`${packageRoot()}/package.json`, 'utf8')) as { version: string };
      process.stdout.write(`berth ${pkg.version} (agent protocol ${PROTOCOL_VERSION}, node ${process.versions.node})\n`);
    });
}
