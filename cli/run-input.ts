// What apply and plan read before anything connects: flags, the playbook (and its Compose
// files), secrets, the inventory, host patterns and every targeted host's jump chain. Anything
// wrong here is bad input (exit 2) and nothing has been contacted. The playbook fuzzer
// (tests/fuzz-playbooks.test.ts) goes through this same door before it renders plans.
import { dirname } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { ExitCode, badInput, err, ok, type BerthError, type Result } from '../controller/errors.js';
import { hostTarget } from '../controller/inventory/host-target.js';
import { resolveInventory, type ResolvedInventory } from '../controller/inventory/resolve.js';
import { inventorySource, type InventoryRef } from '../controller/inventory/source.js';
import { preflight, targets } from '../controller/run/apply.js';
import { loadForRun, loadInventoryForRun, type LoadedForRun } from '../controller/run/load-for-run.js';
import { loadSecrets, type SecretRef } from '../controller/run/secrets.js';
import type { ApplyFlags } from './commands/apply.js';

export interface RunInput {
  loaded: LoadedForRun;
  secrets: Record<string, string>;
  inventory: ResolvedInventory;
  extraVars: Record<string, unknown>;
  forks: number;
}

export function readRunInput(playbookPath: string, flags: Pick<ApplyFlags, 'forks' | 'extraVars' | 'inventory' | 'limit'>): Result<RunInput, BerthError[]> {
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
  if (problems.length) return err(problems);

  const loaded = loadForRun(playbookPath);
  if (!loaded.ok) return loaded;
  const { doc, where } = loaded.value;
  const secrets = loadSecrets((doc as { secrets?: Record<string, SecretRef> }).secrets, dirname(loaded.value.path), where);
  if (!secrets.ok) return secrets;
  const inv = inventorySource(doc.inventory as InventoryRef | undefined, {
    playbookPath: loaded.value.path,
    playbookName: doc.name,
    override: flags.inventory,
    where: flags.inventory ? '-i' : where(['inventory']),
    loadFile: loadInventoryForRun,
  });
  if (!inv.ok) return inv;
  const inventory = resolveInventory(inv.value.doc, inv.value.source);
  const patternErrors = preflight({ playbook: doc, inventory, limit: flags.limit, where });
  if (patternErrors.length) return err(patternErrors);
  // Where each targeted host is, its jump hosts included, is settled before anything connects: a
  // jump host that cannot be resolved or a cycle of jumps is bad input, not one unreachable host.
  const badTargets = [...new Set(targets({ playbook: doc, inventory, limit: flags.limit }).flat())].flatMap((name) => {
    const t = hostTarget(inventory, inventory.byName.get(name)!);
    return !t.ok && t.error.exit === ExitCode.badInput ? [t.error] : [];
  });
  if (badTargets.length) return err(badTargets);
  return ok({ loaded: loaded.value, secrets: secrets.value, inventory, extraVars, forks });
}
