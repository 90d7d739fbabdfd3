// The apply/plan command: everything that can be wrong with the input is found before any host
// is contacted (exit 2, nothing changed); then the run itself is the controller's job.
import { dirname } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { BerthFailure, ExitCode, badInput, type BerthError } from '../controller/errors.js';
import { inventorySource, type InventoryRef } from '../controller/inventory/source.js';
import { hostTarget } from '../controller/inventory/host-target.js';
import { resolveInventory } from '../controller/inventory/resolve.js';
import { applyPlaybook, preflight, targets, type ApplyOptions } from '../controller/run/apply.js';
import { loadForRun, loadInventoryForRun } from '../controller/run/load-for-run.js';
import { loadSecrets, type SecretRef } from '../controller/run/secrets.js';
import { createSshPool } from '../controller/ssh/index.js';
import type { ApplyFlags } from './commands/apply.js';
import { openReporter } from './report/open.js';
import { lockOwner } from '../controller/run/locks.js';
import { projectName } from '../controller/services/project.js';

/** What a command built on apply changes about it: `berth rollback` brings its own plans. */
export interface ApplyOverride {
  command: string;
  planFor: NonNullable<ApplyOptions['planFor']>;
}

export async function runApply(playbookPath: string, flags: ApplyFlags, override?: ApplyOverride): Promise<number> {
  const problems: BerthError[] = [];
  const forks = Number(flags.forks);
  if (!Number.isInteger(forks) || forks < 1) problems.push(badInput('flags.forks', `--forks must be a whole number of 1 or more, not "${flags.forks}"`, '--forks'));
  const extraVars: Record<string, unknown> = {};
  for (const kv of flags.extraVars) {
    const at = kv.indexOf('=');
    if (at <= 0) {
      problems.push(badInput('flags.extra-vars', `-e expects KEY=VALUE, got "${kv}"`, '-e', 'for example -e app_version=1.3.0'));
      continue;
    }
    try {
      extraVars[kv.slice(0, at)] = parseYaml(kv.slice(at + 1)) ?? '';
    } catch {
      extraVars[kv.slice(0, at)] = kv.slice(at + 1);
    }
  }
  if (problems.length) throw new BerthFailure(problems);

  const loaded = loadForRun(playbookPath);
  if (!loaded.ok) throw new BerthFailure(loaded.error);
  const { doc, where } = loaded.value;
  const secrets = loadSecrets((doc as { secrets?: Record<string, SecretRef> }).secrets, dirname(loaded.value.path), where);
  if (!secrets.ok) throw new BerthFailure(secrets.error);
  const inv = inventorySource(doc.inventory as InventoryRef | undefined, {
    playbookPath: loaded.value.path,
    playbookName: doc.name,
    override: flags.inventory,
    where: flags.inventory ? '-i' : where(['inventory']),
    loadFile: loadInventoryForRun,
  });
  if (!inv.ok) throw new BerthFailure(inv.error);
  const inventory = resolveInventory(inv.value.doc, inv.value.source);
  const patternErrors = preflight({ playbook: doc, inventory, limit: flags.limit, where });
  if (patternErrors.length) throw new BerthFailure(patternErrors);
  // Where each targeted host is, its jump hosts included, is settled before anything connects: a
  // jump host that cannot be resolved or a cycle of jumps is bad input, not one unreachable host.
  const badTargets = [...new Set(targets({ playbook: doc, inventory, limit: flags.limit }).flat())].flatMap((name) => {
    const t = hostTarget(inventory, inventory.byName.get(name)!);
    return !t.ok && t.error.exit === ExitCode.badInput ? [t.error] : [];
  });
  if (badTargets.length) throw new BerthFailure(badTargets);

  // Opened only now: bad input above is reported without loading the live view.
  const reporter = await openReporter(flags);
  const sink = reporter.sink;
  for (const w of loaded.value.warnings) sink({ type: 'warning', code: w.code, message: w.where ? `${w.where}: ${w.message}` : w.message, hint: w.hint });
  const pool = createSshPool({ acceptNewHostKeys: flags.acceptNewHostKeys ? true : undefined });

  const project = projectName(doc.name, loaded.value.path);
  const abort = new AbortController();
  let interrupts = 0;
  const onSigint = () => {
    interrupts += 1;
    if (interrupts === 1) return abort.abort();
    void reporter.close().finally(() => {
      process.stderr.write('berth: interrupted twice: leaving now; hosts finish their current task on their own\n');
      process.exit(130);
    });
  };
  process.on('SIGINT', onSigint);
  try {
    return await applyPlaybook({
      playbookPath: loaded.value.path,
      playbook: doc,
      where,
      inventory,
      limit: flags.limit,
      extraVars,
      secretVars: secrets.value,
      tags: { only: splitList(flags.tags), skip: splitList(flags.skipTags) },
      check: !!flags.check,
      diff: !!flags.diff,
      forks,
      sink,
      signal: abort.signal,
      connect: async (host) => {
        const target = hostTarget(inventory, host);
        return target.ok ? pool.get(target.value) : target;
      },
      lock: { owner: lockOwner(override?.command ?? (flags.check ? 'plan' : flags.promote ? 'promote' : 'apply'), { reason: flags.lockReason, playbook: project }), fleet: project },
      promote: flags.promote === true,
      relay: flags.relay !== false,
      planFor: override?.planFor,
    });
  } finally {
    process.off('SIGINT', onSigint);
    pool.closeAll();
    await reporter.close();
  }
}

const splitList = (s?: string): string[] => (s ? s.split(',').map((t) => t.trim()).filter(Boolean) : []);
