// A play's hosts cut into rollout batches, Ansible's `serial` way (a count, a percentage, or a
// list of growing sizes whose last repeats), after an optional canary batch; and the failure
// budget of the whole run. Pure: tests/rollout-batches.test.ts checks every rule with literals.
import type { Rollout } from '../../schema/rollout.js';

export interface BatchPlan {
  batches: string[][];
  /** The first batch is the canary: the rollout waits after it unless promoted. */
  canary: boolean;
  /** Failed hosts the run tolerates (across all batches) before it halts. */
  allowedFailures: number;
}

/** Hosts of one batch size (a count or "30%") out of `total`: at least one. */
export function batchSize(size: number | string, total: number): number {
  if (typeof size === 'number') return Math.max(1, size);
  const pct = Number(size.replace('%', ''));
  // Ansible takes the integer part of the percentage of hosts, and never less than one.
  return Math.max(1, Math.floor((total * pct) / 100));
}

export function planBatches(hosts: string[], r: Rollout): BatchPlan {
  const total = hosts.length;
  const batches: string[][] = [];
  let rest = [...hosts];
  const canaryCount = Math.min(r.canary ?? 0, total);
  if (canaryCount > 0) {
    batches.push(rest.slice(0, canaryCount));
    rest = rest.slice(canaryCount);
  }
  const sizes = r.serial === undefined ? [total] : Array.isArray(r.serial) ? r.serial : [r.serial];
  let i = 0;
  while (rest.length > 0) {
    const n = batchSize(sizes[Math.min(i, sizes.length - 1)], total);
    batches.push(rest.slice(0, n));
    rest = rest.slice(n);
    i += 1;
  }
  return { batches, canary: canaryCount > 0, allowedFailures: allowedFailures(r, total) };
}

/**
 * max_fail (a count) wins; else max_fail_percentage of all targeted hosts (Ansible halts when
 * more than that share failed); else none: the first failed host halts the rollout.
 */
export function allowedFailures(r: Rollout, total: number): number {
  if (r.max_fail !== undefined) return r.max_fail;
  if (r.max_fail_percentage !== undefined) return Math.floor((total * r.max_fail_percentage) / 100);
  return 0;
}
