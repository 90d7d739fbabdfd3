// `berth services [NAME]`: every instance of the fleet's services as their hosts' watchers see
// them: where it runs, the address it is registered at, its health, its release and how long it
// has been registered. Each host answers for its own instances (whatever the backend), so an
// instance that is withdrawn (unhealthy) is listed too, with the reason.
import { Option, type Command } from 'commander';
import type { InstanceReport, RegistryReport } from '../../protocol/agent-protocol.js';
import { ExitCode, formatError } from '../../controller/errors.js';
import { action } from '../run-action.js';
import { fleetFlags, loadFleet, type CommonFleetFlags } from './ps.js';

interface ServicesFlags extends CommonFleetFlags {
  wide?: boolean;
}

export type ServiceRow = InstanceReport & { inventoryHost: string; watcher: RegistryReport['watcher'] };

export function registerServices(program: Command): void {
  fleetFlags(
    program
      .command('services [name]')
      .description('list the registered service instances on every host: address, health, release and registration age')
      .addOption(new Option('--json', 'one JSON object per instance').env('BERTH_JSON'))
      .addOption(new Option('-w, --wide', 'also show the last health check output'))
      .addHelpText('after', '\nExamples:\n  berth services -p playbooks/demo.yml\n  berth services web -i inventory.yml --json'),
  ).action(
    action(async (name: string | undefined, flags: ServicesFlags) => {
      const fleet = await loadFleet(flags);
      const { onHosts, ask } = await import('../../controller/services/fleet.js');
      const outcomes = await onHosts(fleet, fleet.hosts, (host, agent) => ask<RegistryReport>(agent, host.name, { method: 'registry.instances', params: name ? { service: name } : {} }), flags);
      let unreachable = false;
      const rows: ServiceRow[] = [];
      for (const o of outcomes) {
        if (!o.ok) {
          unreachable = true;
          process.stderr.write(`berth: ${formatError({ ...o.error, where: o.error.where ?? o.host })}\n`);
          continue;
        }
        for (const i of o.value.instances) rows.push({ ...i, inventoryHost: o.host, watcher: o.value.watcher });
      }
      rows.sort((a, b) => a.service.localeCompare(b.service) || a.inventoryHost.localeCompare(b.inventoryHost) || a.id.localeCompare(b.id));
      if (flags.json) for (const r of rows) process.stdout.write(JSON.stringify(r) + '\n');
      else process.stdout.write(servicesTable(rows, Date.now(), flags.wide === true));
      return unreachable ? ExitCode.unreachable : ExitCode.ok;
    }),
  );
}

export function servicesTable(rows: ServiceRow[], now: number, wide: boolean): string {
  if (rows.length === 0) return 'no registered service instances\n';
  const head = ['SERVICE', 'INSTANCE', 'HOST', 'ADDRESS', 'HEALTH', 'REGISTERED', 'RELEASE', 'AGE', ...(wide ? ['LAST CHECK'] : [])];
  const cells = rows.map((r) => [
    r.service,
    r.id,
    r.inventoryHost,
    r.address ? `${r.address}:${r.port}` : '-',
    r.health,
    // Without a watcher nobody renews the registration: it lasts until its TTL at most.
    !r.watcher ? 'watcher down' : r.registered ? 'yes' : r.error ? 'no (backend error)' : 'no',
    r.release || '-',
    r.registered && r.registeredAt ? age(now - Date.parse(r.registeredAt)) : '-',
    ...(wide ? [(r.error ?? r.lastOutput).slice(0, 120)] : []),
  ]);
  const width = head.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i].length)));
  const line = (c: string[]) => c.map((x, i) => x.padEnd(width[i])).join('  ').trimEnd();
  return [line(head), ...cells.map(line)].join('\n') + '\n';
}

/** "42s", "5m", "3h", "2d": how `docker ps` and kubectl show ages. */
export function age(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 120) return `${s}s`;
  if (s < 7200) return `${Math.floor(s / 60)}m`;
  if (s < 172800) return `${Math.floor(s / 3600)}h`;
  return `${Math.floor(s / 86400)}d`;
}
