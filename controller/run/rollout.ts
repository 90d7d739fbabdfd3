// A play's hosts in rollout batches: each batch runs (its hosts in parallel, at most
// max_parallel at once) and must finish healthy (the agent's health gates decide) before the next
// starts. A batch with a failed host is returned to its previous release when auto_revert says
// so; the failure budget is the whole run's; hosts after a halt are never touched. A canary batch
// pauses the rollout until `berth promote` (or auto_promote).
import pLimit from 'p-limit';
import type { Rollout } from '../../schema/rollout.js';
import { parseMs } from '../services/units.js';
import { planBatches } from './batches.js';
import type { EventSink } from './events.js';

export type HostOutcome = 'ok' | 'failed' | 'lost';

export interface RolloutHooks {
  /** Runs the play on one host. */
  run(host: string): Promise<HostOutcome>;
  /** Returns one host's services of this play to the release they had before this run. */
  revert(host: string): Promise<{ ok: boolean; message?: string; releases: Record<string, string> }>;
  sink: EventSink;
  cancelled(): boolean;
}

export type RolloutOutcome = 'done' | 'halted' | 'reverted' | 'paused';

export async function runRollout(play: number, hosts: string[], r: Rollout, opts: { promote: boolean }, hooks: RolloutHooks): Promise<RolloutOutcome> {
  const plan = planBatches(hosts, r);
  const progressMs = r.progress_deadline === undefined ? undefined : parseMs(r.progress_deadline);
  let failures = 0;
  let reverted = false;
  for (const [i, batch] of plan.batches.entries()) {
    if (hooks.cancelled()) return 'halted';
    const canary = plan.canary && i === 0;
    hooks.sink({ type: 'batch-start', play, batch: i + 1, batches: plan.batches.length, hosts: batch, canary });
    const t0 = performance.now();
    const limit = pLimit(r.max_parallel ?? batch.length);
    const outcomes = await Promise.all(batch.map((h) => limit(async () => [h, await hooks.run(h)] as const)));
    const failed = outcomes.filter(([, o]) => o !== 'ok').map(([h]) => h);
    const tookMs = Math.round(performance.now() - t0);
    hooks.sink({ type: 'batch-end', play, batch: i + 1, batches: plan.batches.length, ok: outcomes.filter(([, o]) => o === 'ok').map(([h]) => h), failed, durationMs: tookMs });
    failures += failed.length;
    const untouched = plan.batches.slice(i + 1).flat();
    if (failed.length > 0 && r.auto_revert && !hooks.cancelled()) {
      // The whole batch goes back, not only its failed hosts: a batch is one step of the rollout.
      const back = outcomes.filter(([, o]) => o !== 'lost').map(([h]) => h);
      await Promise.all(
        back.map(async (h) => {
          hooks.sink({ type: 'rollout-revert-start', play, host: h });
          const res = await hooks.revert(h);
          hooks.sink({ type: 'rollout-revert-end', play, host: h, ok: res.ok, message: res.message, releases: res.releases });
        }),
      );
      reverted = true;
    }
    if (failures > plan.allowedFailures) {
      const budget = plan.allowedFailures === 0 ? 'no failed host is allowed' : `at most ${plan.allowedFailures} failed host${plan.allowedFailures === 1 ? ' is' : 's are'} allowed`;
      hooks.sink({ type: 'rollout-halted', play, reason: `${failures} host${failures === 1 ? '' : 's'} failed and ${budget} (max_fail_percentage / max_fail)`, untouched, reverted });
      return reverted ? 'reverted' : 'halted';
    }
    if (progressMs !== undefined && tookMs > progressMs && untouched.length) {
      hooks.sink({ type: 'rollout-halted', play, reason: `batch ${i + 1} took ${Math.round(tookMs / 1000)} s, past progress_deadline (${Math.round(progressMs / 1000)} s)`, untouched, reverted: false });
      return 'halted';
    }
    if (canary && untouched.length && !opts.promote && r.auto_promote !== true) {
      hooks.sink({ type: 'rollout-paused', play, reason: `canary ${batch.join(', ')} ${failed.length ? 'done' : 'healthy'}; the other hosts wait for \`berth promote\``, remaining: untouched });
      return 'paused';
    }
  }
  return reverted ? 'reverted' : 'done';
}
