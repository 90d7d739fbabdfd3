// `berth exec SERVICE[.REPLICA] [--host H] -- CMD...`: a command in one running container of a
// service, its output printed as it comes, its exit code berth's exit code.
import type { Command } from 'commander';
import { BerthFailure, ExitCode } from '../../controller/errors.js';
import { action } from '../run-action.js';
import { fleetFlags, loadFleet, type CommonFleetFlags } from './ps.js';

interface ExecFlags extends CommonFleetFlags {
  host?: string;
  user?: string;
  workdir?: string;
}

export function registerExec(program: Command): void {
  fleetFlags(
    program
      .command('exec <service> <command...>')
      .description('run a command in a running container of a service (SERVICE, SERVICE.N, SERVICE/SIDECAR.N), on --host or the first host that runs it')
      .option('--host <host>', 'the host whose container runs the command')
      .option('-u, --user <user>', 'user to run the command as')
      .option('-w, --workdir <dir>', 'working directory inside the container')
      .addHelpText('after', '\nExamples:\n  berth exec web.1 --host h2 -p playbooks/demo.yml -- cat /app/app.conf\n  berth exec db -p playbooks/demo.yml -- sh -c "ls /data"'),
  ).action(
    action(async (service: string, command: string[], flags: ExecFlags) => {
      const { parseTarget, exec } = await import('../../controller/services/fleet-requests.js');
      const target = parseTarget(service);
      if (!target.ok) throw new BerthFailure([target.error]);
      const fleet = await loadFleet(flags);
      const abort = new AbortController();
      const onSigint = () => abort.abort();
      process.once('SIGINT', onSigint);
      try {
        const r = await exec(fleet, target.value, command, {
          host: flags.host,
          user: flags.user,
          workdir: flags.workdir,
          acceptNewHostKeys: flags.acceptNewHostKeys,
          signal: abort.signal,
          onLine: (l) => (l.stream === 'stderr' ? process.stderr : process.stdout).write(`${l.line}\n`),
        });
        if (!r.ok) throw new BerthFailure([r.error]);
        if (fleet.hosts.length > 1 && !flags.host) process.stderr.write(`berth: ran in ${r.value.container} on ${r.value.host}\n`);
        return abort.signal.aborted ? ExitCode.cancelled : r.value.exitCode;
      } finally {
        process.off('SIGINT', onSigint);
      }
    }),
  );
}
