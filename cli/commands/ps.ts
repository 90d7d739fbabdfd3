// `berth ps`: every service container on every host (state, health, image, release, ports),
// then, for scheduled jobs, their schedule, next run and last runs with exit codes.
// The fleet flags (-p/-i/-l/...) are shared with logs, exec and run, and declared here once.
import { Option, type Command } from 'commander';
import type { ServiceContainerStatus } from '../../protocol/agent-protocol.js';
import { ExitCode, formatError } from '../../controller/errors.js';
import type { FleetFlags } from '../../controller/services/fleet.js';
import { action } from '../run-action.js';

export interface CommonFleetFlags extends FleetFlags {
  json?: boolean;
}

export function fleetFlags(cmd: Command): Command {
  return cmd
    .addOption(new Option('-p, --playbook <file>', 'the playbook: its inventory, and only its services').env('BERTH_PLAYBOOK'))
    .addOption(new Option('-i, --inventory <file>', 'inventory file (overrides the playbook\'s inventory:)').env('BERTH_INVENTORY'))
    .addOption(new Option('-l, --limit <pattern>', 'only hosts matching this pattern (e.g. web, h1:h2)').env('BERTH_LIMIT'))
    // No -f: `berth logs -f` follows, as in Compose and Docker.
    .addOption(new Option('--forks <n>', 'hosts worked on at once').env('BERTH_FORKS').default('50'))
    .addOption(new Option('--accept-new-host-keys', 'trust and record the host keys of hosts not yet in known_hosts').env('BERTH_ACCEPT_NEW_HOST_KEYS'));
}

/** Loads the fleet or fails the command with the input's errors (exit 2). */
export async function loadFleet(flags: FleetFlags) {
  const { resolveFleet } = await import('../../controller/services/fleet.js');
  const { BerthFailure } = await import('../../controller/errors.js');
  const fleet = resolveFleet(flags);
  if (!fleet.ok) throw new BerthFailure(fleet.error);
  return fleet.value;
}

export function registerPs(program: Command): void {
  fleetFlags(
    program
      .command('ps [service]')
      .description('list the service containers on every host: state, health, image, release, ports; scheduled jobs\' next and last runs')
      .addOption(new Option('--json', 'one JSON object per container').env('BERTH_JSON'))
      .addHelpText('after', '\nExamples:\n  berth ps -p playbooks/demo.yml\n  berth ps web -i inventory.yml --limit h1'),
  ).action(
    action(async (service: string | undefined, flags: CommonFleetFlags) => {
      const fleet = await loadFleet(flags);
      const { ps } = await import('../../controller/services/fleet-requests.js');
      const outcomes = await ps(fleet, service, flags);
      let unreachable = false;
      const rows: Array<ServiceContainerStatus & { host: string }> = [];
      for (const o of outcomes) {
        if (!o.ok) {
          unreachable = true;
          process.stderr.write(`berth: ${formatError({ ...o.error, where: o.error.where ?? o.host })}\n`);
          continue;
        }
        for (const c of o.value) rows.push({ host: o.host, ...c });
      }
      if (flags.json) for (const r of rows) process.stdout.write(JSON.stringify(r) + '\n');
      else process.stdout.write(table(rows, !fleet.project) + schedules(rows, !fleet.project));
      return unreachable ? ExitCode.unreachable : ExitCode.ok;
    }),
  );
}

function table(rows: Array<ServiceContainerStatus & { host: string }>, withPlaybook: boolean): string {
  if (rows.length === 0) return 'no service containers\n';
  const head = [...(withPlaybook ? ['PLAYBOOK'] : []), 'HOST', 'SERVICE', 'STATE', 'HEALTH', 'IMAGE', 'RELEASE', 'PORTS'];
  const cells = rows.map((r) => [
    ...(withPlaybook ? [r.playbook] : []),
    r.host,
    r.oneoff ? `${r.service} (run)` : `${r.service}${r.sidecar ? `/${r.sidecar}` : ''}.${r.replica}`,
    r.state === 'exited' && r.exitCode !== undefined ? `exited (${r.exitCode})` : r.job && r.state === 'created' ? 'prepared' : r.state,
    r.health ?? '-',
    r.image,
    r.release || '-',
    r.ports.join(', ') || '-',
  ]);
  return columns(head, cells);
}

function columns(head: string[], cells: string[][]): string {
  const width = head.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i].length)));
  const line = (c: string[]) => c.map((x, i) => x.padEnd(width[i])).join('  ').trimEnd();
  return [line(head), ...cells.map(line)].join('\n') + '\n';
}

const LAST_RUNS_SHOWN = 5;

/** Scheduled jobs: when they run next, and how their last runs ended (newest first). */
function schedules(rows: Array<ServiceContainerStatus & { host: string }>, withPlaybook: boolean): string {
  const jobs = rows.filter((r) => r.schedule);
  if (jobs.length === 0) return '';
  const cells = jobs.map((r) => {
    const s = r.schedule!;
    const runs = [...s.runs].reverse().slice(0, LAST_RUNS_SHOWN).map(describeRun);
    return [...(withPlaybook ? [r.playbook] : []), r.host, `${r.service}.${r.replica}`, s.schedule, s.next ? clock(s.next) : '-', runs.join(', ') || 'none yet'];
  });
  return '\n' + columns([...(withPlaybook ? ['PLAYBOOK'] : []), 'HOST', 'JOB', 'SCHEDULE', 'NEXT RUN', 'LAST RUNS (newest first)'], cells);
}

function describeRun(r: NonNullable<ServiceContainerStatus['schedule']>['runs'][number]): string {
  const at = clock(r.startedAt);
  if (r.skipped) return `skipped ${at} (${r.skipped})`;
  if (r.error && r.exitCode === undefined) return `error ${at} (${r.error})`;
  if (r.endedAt === undefined) return `running since ${at}`;
  return `exit ${r.exitCode} ${at}${r.error ? ` (${r.error})` : ''}`;
}

/** The host's times as the operator's local clock, to the second: "14:05:00", or with the date when not today. */
function clock(iso: string): string {
  const t = new Date(iso);
  if (Number.isNaN(t.getTime())) return iso;
  const pad = (n: number) => String(n).padStart(2, '0');
  const time = `${pad(t.getHours())}:${pad(t.getMinutes())}:${pad(t.getSeconds())}`;
  return t.toDateString() === new Date().toDateString() ? time : `${t.getFullYear()}-${pad(t.getMonth() + 1)}-${pad(t.getDate())} ${time}`;
}
