// The apply/plan command: everything that can be wrong with the input is found before any host
// is contacted (exit 2, nothing changed); then the run itself is the controller's job.
import { BerthFailure } from '../controller/errors.js';
import { hostTarget } from '../controller/inventory/host-target.js';
import { applyPlaybook, type ApplyOptions } from '../controller/run/apply.js';
import { createSshPool } from '../controller/ssh/index.js';
import type { ApplyFlags } from './commands/apply.js';
import { openReporter } from './report/open.js';
import { lockOwner } from '../controller/run/locks.js';
import { projectName } from '../controller/services/project.js';
import { readRunInput } from './run-input.js';

/** What a command built on apply changes about it: `berth rollback` brings its own plans. */
export interface ApplyOverride {
  command: string;
  planFor: NonNullable<ApplyOptions['planFor']>;
}

export async function runApply(playbookPath: string, flags: ApplyFlags, override?: ApplyOverride): Promise<number> {
  const input = readRunInput(playbookPath, flags);
  if (!input.ok) throw new BerthFailure(input.error);
  const { loaded, inventory, extraVars, forks, secrets } = input.value;
  const { doc, where } = loaded;

  // Opened only now: bad input above is reported without loading the live view.
  const reporter = await openReporter(flags);
  const sink = reporter.sink;
  for (const w of loaded.warnings) sink({ type: 'warning', code: w.code, message: w.where ? `${w.where}: ${w.message}` : w.message, hint: w.hint });
  const pool = createSshPool({ acceptNewHostKeys: flags.acceptNewHostKeys ? true : undefined });

  const project = projectName(doc.name, loaded.path);
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
      playbookPath: loaded.path,
      playbook: doc,
      where,
      inventory,
      limit: flags.limit,
      extraVars,
      secretVars: secrets,
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
