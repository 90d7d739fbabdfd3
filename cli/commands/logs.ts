// `berth logs SERVICE`: a service's output from every host, one timeline, each line prefixed
// with its host and replica; -f follows until Ctrl-C.
import { Option, type Command } from 'commander';
import { BerthFailure, ExitCode, formatError } from '../../controller/errors.js';
import { action } from '../run-action.js';
import { fleetFlags, loadFleet, type CommonFleetFlags } from './ps.js';

interface LogsFlags extends CommonFleetFlags {
  follow?: boolean;
  since?: string;
  tail?: string;
  timestamps?: boolean;
}

export function registerLogs(program: Command): void {
  fleetFlags(
    program
      .command('logs <service>')
      .description('show a service\'s output from every host, merged, prefixed with host and replica (SERVICE, SERVICE.N, SERVICE/SIDECAR)')
      .option('-f, --follow', 'keep printing new lines until Ctrl-C')
      .option('--since <when>', 'only lines since a duration ago (10m, 2h) or a time (2024-05-01T10:00:00Z)')
      .option('-n, --tail <lines>', 'only the last N lines of each container')
      .option('-t, --timestamps', 'show each line\'s time')
      .addOption(new Option('--json', 'one JSON object per line').env('BERTH_JSON'))
      .addHelpText('after', '\nExamples:\n  berth logs web -p playbooks/demo.yml --since 10m\n  berth logs web/logs.1 -p playbooks/demo.yml --follow'),
  ).action(
    action(async (service: string, flags: LogsFlags) => {
      const { parseTarget, logs } = await import('../../controller/services/fleet-requests.js');
      const target = parseTarget(service);
      if (!target.ok) throw new BerthFailure([target.error]);
      const tail = flags.tail === undefined ? undefined : Number(flags.tail);
      if (tail !== undefined && (!Number.isInteger(tail) || tail < 0)) throw new BerthFailure([{ code: 'flags.tail', message: `--tail must be a whole number, not "${flags.tail}"`, where: '--tail', exit: ExitCode.badInput }]);
      const fleet = await loadFleet(flags);
      const abort = new AbortController();
      const onSigint = () => abort.abort();
      process.once('SIGINT', onSigint);
      const hostWidth = Math.max(...fleet.hosts.map((h) => h.length));
      try {
        const outcomes = await logs(fleet, target.value, {
          follow: !!flags.follow,
          since: flags.since,
          tail,
          acceptNewHostKeys: flags.acceptNewHostKeys,
          signal: abort.signal,
          onLine: (l) => {
            if (flags.json) return void process.stdout.write(JSON.stringify({ host: l.host, container: l.container, stream: l.stream, time: l.time, line: l.line }) + '\n');
            const when = flags.timestamps && l.time ? `${l.time} ` : '';
            (l.stream === 'stderr' ? process.stderr : process.stdout).write(`${l.host.padEnd(hostWidth)} ${l.container} | ${when}${l.line}\n`);
          },
        });
        let failed = false;
        for (const o of outcomes) {
          if (o.ok) continue;
          failed = true;
          process.stderr.write(`berth: ${formatError({ ...o.error, where: o.error.where ?? o.host })}\n`);
        }
        return abort.signal.aborted ? ExitCode.cancelled : failed ? ExitCode.unreachable : ExitCode.ok;
      } finally {
        process.off('SIGINT', onSigint);
      }
    }),
  );
}
