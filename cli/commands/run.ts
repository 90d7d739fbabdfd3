// `berth run JOB -p PLAYBOOK`: a job of the playbook, run once now on each host of its play, in
// a fresh container that is removed after; output prefixed with the host, exit codes reported.
import { Option, type Command } from 'commander';
import { BerthFailure, ExitCode, formatError } from '../../controller/errors.js';
import { action } from '../run-action.js';
import { fleetFlags, loadFleet, type CommonFleetFlags } from './ps.js';

interface RunFlags extends CommonFleetFlags {
  extraVars: string[];
}

export function registerRun(program: Command): void {
  fleetFlags(
    program
      .command('run <job>')
      .description('run a job (or any service) of the playbook once, now, on the hosts of its play; its container is removed after')
      .addOption(new Option('-e, --extra-vars <key=value>', 'set a variable (highest precedence); repeatable').argParser((v: string, prev: string[] = []) => [...prev, v]).default([]))
      .addHelpText('after', '\nExamples:\n  berth run backup -p playbooks/demo.yml\n  berth run migrate -p playbooks/demo.yml --limit h1'),
  ).action(
    action(async (job: string, flags: RunFlags) => {
      const fleet = await loadFleet(flags);
      const { runJob } = await import('../../controller/services/fleet-requests.js');
      const abort = new AbortController();
      const onSigint = () => abort.abort();
      process.once('SIGINT', onSigint);
      const width = Math.max(...fleet.hosts.map((h) => h.length));
      try {
        const r = await runJob(fleet, job, {
          extraVars: flags.extraVars,
          acceptNewHostKeys: flags.acceptNewHostKeys,
          signal: abort.signal,
          onLine: (host, stream, line) => (stream === 'stderr' ? process.stderr : process.stdout).write(`${host.padEnd(width)} | ${line}\n`),
        });
        if (!r.ok) throw new BerthFailure(r.error);
        let code: number = ExitCode.ok;
        for (const o of r.value) {
          if (!o.ok) {
            code = ExitCode.failed;
            process.stderr.write(`berth: ${formatError({ ...o.error, where: o.error.where ?? o.host })}\n`);
            continue;
          }
          process.stderr.write(`${o.host.padEnd(width)} | ${job} exited with ${o.value.exitCode}\n`);
          if (o.value.exitCode !== 0) code = ExitCode.failed;
        }
        return abort.signal.aborted ? ExitCode.cancelled : code;
      } finally {
        process.off('SIGINT', onSigint);
      }
    }),
  );
}
