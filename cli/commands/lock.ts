// `berth lock status` and `berth lock release --force`: the deploy locks `berth apply` takes on
// each host (and, with an etcd registry, the playbook's fleet lock): who holds them, since when,
// why and until when; and removing them when their holder is gone and the operator will not wait
// for them to expire.
import { Option, type Command } from 'commander';
import type { DeployLock, LockAnswer } from '../../protocol/agent-protocol.js';
import { BerthFailure, ExitCode, badInput, formatError } from '../../controller/errors.js';
import type { LockReport } from '../../controller/run/lock-requests.js';
import { action } from '../run-action.js';
import { fleetFlags, loadFleet, type CommonFleetFlags } from './ps.js';
import { age } from './services.js';

interface ReleaseFlags extends CommonFleetFlags {
  force?: boolean;
}

export function registerLock(program: Command): void {
  const lock = program
    .command('lock')
    .description('deploy locks: who holds them (status), remove a dead run\'s (release --force)')
    .addHelpText('after', '\nExamples:\n  berth lock status -p playbooks/demo.yml\n  berth lock release --force -p playbooks/demo.yml --limit h2');

  fleetFlags(
    lock
      .command('status')
      .description('each host\'s deploy lock: free, or held by whom, since when, why, expiring when (stale ones marked); with -p, the fleet lock in etcd too')
      .addOption(new Option('--json', 'one JSON object per host (and one for the fleet lock)').env('BERTH_JSON'))
      .addHelpText('after', '\nExamples:\n  berth lock status -p playbooks/demo.yml\n  berth lock status -i inventory.yml --limit web --json'),
  ).action(
    action(async (flags: CommonFleetFlags) => {
      const fleet = await loadFleet(flags);
      const { lockStatus } = await import('../../controller/run/lock-requests.js');
      const report = await lockStatus(fleet, flags);
      const unreachable = reportErrors(report);
      if (flags.json) {
        for (const h of report.hosts) if (h.ok) process.stdout.write(JSON.stringify({ host: h.host, state: state(h.value), lock: h.value.lock, now: h.value.now }) + '\n');
        const f = report.fleet;
        if (f?.ok) process.stdout.write(JSON.stringify({ fleet: f.value.key, host: f.host, state: state(f.value), lock: f.value.lock, now: f.value.now }) + '\n');
      } else {
        process.stdout.write(statusTable(report));
      }
      return unreachable ? ExitCode.unreachable : ExitCode.ok;
    }),
  );

  fleetFlags(
    lock
      .command('release')
      .description('remove the deploy lock of every targeted host, whoever holds it (needs --force); with -p, the fleet lock in etcd too')
      .addOption(new Option('--force', 'yes: remove locks that another run may still hold'))
      .addHelpText('after', '\nExamples:\n  berth lock release --force -p playbooks/demo.yml --limit h2\n  berth lock release --force -i inventory.yml'),
  ).action(
    action(async (flags: ReleaseFlags) => {
      if (!flags.force) {
        throw new BerthFailure([badInput('lock.release-needs-force', 'berth lock release removes locks whoever holds them: add --force', '--force', 'see who holds them first: berth lock status (a live run renews its lock; removing it lets another run in beside it)')]);
      }
      const fleet = await loadFleet(flags);
      const { forceRelease } = await import('../../controller/run/lock-requests.js');
      const report = await forceRelease(fleet, flags);
      const unreachable = reportErrors(report);
      for (const h of report.hosts) if (h.ok) process.stdout.write(`${h.host}: ${released(h.value)}\n`);
      const f = report.fleet;
      if (f?.ok) process.stdout.write(`fleet lock ${f.value.key} (etcd, through ${f.host}): ${released(f.value)}\n`);
      return unreachable ? ExitCode.unreachable : ExitCode.ok;
    }),
  );
}

function reportErrors(report: LockReport): boolean {
  let unreachable = false;
  for (const o of report.hosts) {
    if (o.ok) continue;
    unreachable = true;
    process.stderr.write(`berth: ${formatError({ ...o.error, where: o.error.where ?? o.host })}\n`);
  }
  const f = report.fleet;
  if (f && !f.ok) process.stderr.write(`berth: ${formatError({ ...f.error, where: f.error.where ?? `fleet lock (through ${f.host})` })}\n`);
  return unreachable;
}

const state = (a: LockAnswer): 'free' | 'held' | 'stale' => (!a.lock ? 'free' : a.stale ? 'stale' : 'held');

function released(a: LockAnswer): string {
  const l = a.previous;
  if (!a.done || !l) return 'no lock';
  return `removed the lock of ${l.holder} (pid ${l.pid}, ${l.command}${l.playbook ? ` of ${l.playbook}` : ''}, run ${l.runId}) taken ${l.time}${l.reason ? `, reason "${l.reason}"` : ''}${a.stale ? ' (it was stale)' : ''}`;
}

export function statusTable(report: LockReport): string {
  const rows: string[][] = [];
  const row = (name: string, a: LockAnswer) => {
    const l = a.lock;
    const now = Date.parse(a.now);
    rows.push(l ? [name, state(a), holder(l), `${clock(l.time)} (${age(now - Date.parse(l.time))} ago)`, l.reason ?? '-', expiry(l, now, a.stale === true)] : [name, 'free', '-', '-', '-', '-']);
  };
  for (const h of report.hosts) if (h.ok) row(h.host, h.value);
  const f = report.fleet;
  if (f?.ok && f.value.backend === 'etcd') row(`fleet ${f.value.key}`, f.value);
  if (rows.length === 0) return 'no hosts answered\n';
  const head = ['HOST', 'LOCK', 'HOLDER', 'SINCE', 'REASON', 'EXPIRES'];
  const width = head.map((h, i) => Math.max(h.length, ...rows.map((c) => c[i].length)));
  const line = (c: string[]) => c.map((x, i) => x.padEnd(width[i])).join('  ').trimEnd();
  return [line(head), ...rows.map(line)].join('\n') + '\n';
}

const holder = (l: DeployLock) => `${l.holder} (pid ${l.pid}, ${l.command}${l.playbook ? ` of ${l.playbook}` : ''})`;

function expiry(l: DeployLock, now: number, stale: boolean): string {
  const left = Date.parse(l.expiresAt) - now;
  if (left <= 0) return `expired ${age(-left)} ago (stale)`;
  // Stale before its time: the agent that took it on the host was killed.
  return stale ? `its agent is gone (stale)` : `in ${age(left)}`;
}

/** The lock's time as the operator's local clock: "14:05:00", with the date when not today. */
function clock(iso: string): string {
  const t = new Date(iso);
  if (Number.isNaN(t.getTime())) return iso;
  const pad = (n: number) => String(n).padStart(2, '0');
  const time = `${pad(t.getHours())}:${pad(t.getMinutes())}:${pad(t.getSeconds())}`;
  return t.toDateString() === new Date().toDateString() ? time : `${t.getFullYear()}-${pad(t.getMonth() + 1)}-${pad(t.getDate())} ${time}`;
}
