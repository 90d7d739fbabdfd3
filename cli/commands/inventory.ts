// `berth inventory`: the hosts, groups and resolved vars a run would see, without connecting.
// The implementation (inventory-show.ts) loads only when the command runs.
import { Option, type Command } from 'commander';
import { action } from '../run-action.js';
import type { InventoryFlags } from './inventory-show.js';

export function registerInventory(program: Command): void {
  program
    .command('inventory [playbook]')
    .description("list an inventory's hosts, groups and resolved vars (from -i FILE or a playbook's inventory:); connects nowhere")
    .addOption(new Option('-i, --inventory <file>', 'inventory file (overrides the playbook\'s inventory:)').env('BERTH_INVENTORY'))
    .addOption(new Option('--host <name>', 'show one host in full: connection, groups and every var').env('BERTH_INVENTORY_HOST'))
    .addOption(new Option('--json', 'print JSON: {source, hosts: [{name, connection, groups, vars}], groups}').env('BERTH_JSON'))
    .addHelpText('after', '\nVars are resolved as a run sees them: all < groups (parents first) < host.\n\nExamples:\n  berth inventory -i inventories/prod.yml\n  berth inventory playbooks/demo.yml --host h1\n  berth inventory -i prod.yml --json | jq \'.hosts[].name\'')
    .action(action(async (playbook: string | undefined, flags: InventoryFlags) => (await import('./inventory-show.js')).showInventory(playbook, flags)));
}
