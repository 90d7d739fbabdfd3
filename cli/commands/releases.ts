// `berth releases SERVICE` (the release history each host keeps) and `berth rollback SERVICE`
// (back to a release still on the hosts, without building anything).
import { Option, type Command } from 'commander';
import { BerthFailure, ExitCode, formatError } from '../../controller/errors.js';
import { action } from '../run-action.js';
import { fleetFlags, loadFleet, type CommonFleetFlags } from './ps.js';

const age = (iso: string | undefined) => {
  if (!iso) return '';
  const s = Math.max(0, Math.round((Date.now() - Date.parse(iso)) / 1000));
  return s < 120 ? `${s}s ago` : s < 7200 ? `${Math.round(s / 60)}m ago` : s < 172800 ? `${Math.round(s / 3600)}h ago` : `${Math.round(s / 86400)}d ago`;
};

export function registerReleases(program: Command): void {
  fleetFlags(
    program
      .command('releases <service>')
      .description("list a service's releases on each host of its play, newest first: id, when, who, playbook revision, whether its images are still there, and the digest of each image pulled from a registry")
      .addOption(new Option('--json', 'the histories as JSON').env('BERTH_JSON'))
      .addHelpText('after', '\nExample:\n  berth releases web -p playbooks/demo.yml'),
  ).action(
    action(async (service: string, flags: CommonFleetFlags) => {
      const fleet = await loadFleet(flags);
      const { listReleases } = await import('../../controller/services/releases-fleet.js');
      const r = await listReleases(fleet, service, flags);
      if (!r.ok) throw new BerthFailure([r.error]);
      if (flags.json) {
        process.stdout.write(JSON.stringify(r.value.map((o) => (o.ok ? { host: o.host, ...(o.value ?? { service, releases: [] }) } : { host: o.host, error: o.error }))) + '\n');
      } else {
        for (const o of r.value) {
          if (!o.ok) {
            process.stderr.write(`berth: ${formatError({ ...o.error, where: o.error.where ?? o.host })}\n`);
            continue;
          }
          const h = o.value;
          process.stdout.write(`${o.host}${h?.current ? ` (current ${h.current} since ${age(h.since)})` : h?.releases.length ? ' (no release is complete now)' : ''}\n`);
          if (!h || h.releases.length === 0) process.stdout.write(`  no releases of ${service}\n`);
          for (const rel of h?.releases ?? []) {
            const mark = rel.id === h?.current ? '*' : ' ';
            process.stdout.write(`  ${mark} ${rel.id}  ${rel.createdAt.replace('T', ' ').slice(0, 19)}  ${rel.operator}  ${rel.revision}${rel.imagesPresent ? '' : '  (images pruned)'}\n`);
            // Images from a registry: the digest this release ran, the same on every host of its run.
            for (const [ref, digest] of Object.entries(rel.digests ?? {})) process.stdout.write(`      ${ref} ${digest.slice(digest.indexOf('@') + 1)}\n`);
          }
        }
      }
      return r.value.some((o) => !o.ok) ? ExitCode.unreachable : ExitCode.ok;
    }),
  );

  fleetFlags(
    program
      .command('rollback <service>')
      .description('boot a release of a service that is still on the hosts (default: the one before the current), without building anything; every host is checked before any is touched')
      .addOption(new Option('--to <release>', 'the release id (or a prefix of it) to go back to').env('BERTH_ROLLBACK_TO'))
      .addOption(new Option('--lock-reason <text>', "why this rollback holds the hosts' deploy locks").env('BERTH_LOCK_REASON'))
      .addOption(new Option('--json', 'one JSON event per line on stdout (schema: docs/events.md)').env('BERTH_JSON'))
      .addOption(new Option('--plain', 'plain lines even on a terminal').env('BERTH_PLAIN'))
      .addHelpText('after', '\nThe rollback runs like an apply of the recorded release: under the deploy locks, in the\nplay\'s rollout batches (never pausing at a canary), each instance gated on its health check.\n\nExamples:\n  berth rollback web -p playbooks/demo.yml\n  berth rollback web -p playbooks/demo.yml --to 3f2a9c'),
  ).action(
    action(async (service: string, flags: CommonFleetFlags & { to?: string; lockReason?: string; plain?: boolean }) => {
      const fleet = await loadFleet(flags);
      const { rollbackPlans } = await import('../../controller/services/releases-fleet.js');
      const t0 = performance.now();
      const r = await rollbackPlans(fleet, service, { to: flags.to, acceptNewHostKeys: flags.acceptNewHostKeys });
      // A host that cannot go back stops the rollback before any host is touched: not bad input, a failed precondition.
      if (!r.ok) throw new BerthFailure(r.error.map((e) => ({ ...e, exit: ExitCode.failed })));
      if (!flags.json) for (const t of r.value.targets) process.stdout.write(`${t.host}: ${service} ${t.from ? `${t.from} -> ` : ''}${t.release}\n`);
      const { runApply } = await import('../run-apply.js');
      // Batches and gates as the play says, but no pause at a canary: going back is not a trial.
      const code = await runApply(
        fleet.playbook!.path,
        { inventory: flags.inventory, limit: r.value.targets.map((t) => t.host).join(':'), extraVars: [], forks: flags.forks ?? '50', json: flags.json, plain: flags.plain, acceptNewHostKeys: flags.acceptNewHostKeys, lockReason: flags.lockReason, promote: true },
        { command: 'rollback', planFor: r.value.planFor },
      );
      if (!flags.json) process.stdout.write(`rollback of ${service} ${code === 0 ? 'done' : 'FAILED'} in ${((performance.now() - t0) / 1000).toFixed(1)} s\n`);
      return code;
    }),
  );
}
