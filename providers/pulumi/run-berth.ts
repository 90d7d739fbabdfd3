// One berth run for the Pulumi resource: the same path as `berth apply` (load and validate the
// playbook, resolve the inventory, preflight, applyPlaybook over pooled SSH sessions), with the
// inventory made from the resource's host list and the events gathered into a summary instead
// of printed.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatError, type BerthError } from '../../controller/errors.js';
import { hostTarget } from '../../controller/inventory/host-target.js';
import { resolveInventory } from '../../controller/inventory/resolve.js';
import { applyPlaybook, preflight } from '../../controller/run/apply.js';
import type { HostRecap, RunEvent } from '../../controller/run/events.js';
import { loadForRun } from '../../controller/run/load-for-run.js';
import { createSshPool } from '../../controller/ssh/index.js';
import { hostsInventory } from './hosts.js';
import type { BerthHost, BerthSsh } from './hosts-schema.js';

export interface BerthRunInput {
  /** Path of the playbook file. */
  playbookPath: string;
  hosts: BerthHost[];
  ssh?: BerthSsh;
  /** Private key content (e.g. from a Pulumi program's generated key): written to a 0600 file for the run only. */
  privateKey?: string;
  vars?: Record<string, unknown>;
  secretVars?: Record<string, unknown>;
  limit?: string;
  check: boolean;
  acceptNewHostKeys?: boolean;
  forks?: number;
}

export interface BerthRunSummary {
  exitCode: number;
  recap: Record<string, HostRecap>;
  /** Per host, the tasks that changed (or, in check mode, would change), as `name: summary`. */
  changes: Record<string, string[]>;
  /** Unreachable hosts and failures, in words, per host. */
  problems: Record<string, string[]>;
}

/** `host: problem` lines, for an error message. */
export const problemLines = (s: BerthRunSummary): string[] => Object.entries(s.problems).flatMap(([h, ps]) => ps.map((p) => `${h}: ${p}`));

/** Bad input found before connecting: the run never started. */
export type BerthRunOutcome = { ok: true; summary: BerthRunSummary } | { ok: false; errors: BerthError[] };

export async function runBerth(input: BerthRunInput): Promise<BerthRunOutcome> {
  const loaded = loadForRun(input.playbookPath);
  if (!loaded.ok) return { ok: false, errors: loaded.error };
  const { doc, where } = loaded.value;

  const scratch = mkdtempSync(join(tmpdir(), 'berth-pulumi-'));
  try {
    const ssh: BerthSsh = { ...(input.ssh ?? {}) };
    if (input.privateKey) {
      const key = join(scratch, 'id');
      writeFileSync(key, input.privateKey.endsWith('\n') ? input.privateKey : input.privateKey + '\n', { mode: 0o600 });
      ssh.key ??= key;
    }
    const inv = hostsInventory(input.hosts, { ssh, knownHostsPath: join(scratch, 'known_hosts') });
    if (inv.knownHosts) writeFileSync(join(scratch, 'known_hosts'), inv.knownHosts);
    const inventory = resolveInventory(inv.doc, '<pulumi>');
    const pre = preflight({ playbook: doc, inventory, limit: input.limit, where });
    if (pre.length) return { ok: false, errors: pre };

    const summary: BerthRunSummary = { exitCode: 0, recap: {}, changes: {}, problems: {} };
    const problem = (host: string, text: string) => (summary.problems[host] ??= []).push(text);
    const sink = (e: RunEvent) => {
      if (e.type === 'task-end' && e.status === 'changed') {
        (summary.changes[e.host] ??= []).push(e.changes.length ? `${e.name}: ${e.changes.map((c) => c.summary).join('; ')}` : e.name);
      } else if (e.type === 'host-unreachable') problem(e.host, `unreachable: ${formatError(e.error)}`);
      else if (e.type === 'host-failed') problem(e.host, `failed: ${formatError(e.error)}`);
      else if (e.type === 'task-end' && e.status === 'failed') problem(e.host, `task "${e.name}" failed${e.message ? `: ${e.message}` : ''}`);
      else if (e.type === 'recap') summary.recap = e.hosts;
    };
    const pool = createSshPool({ acceptNewHostKeys: input.acceptNewHostKeys });
    try {
      summary.exitCode = await applyPlaybook({
        playbookPath: loaded.value.path,
        playbook: doc,
        where,
        inventory,
        limit: input.limit,
        extraVars: input.vars ?? {},
        secretVars: input.secretVars,
        check: input.check,
        diff: false,
        forks: input.forks ?? 16,
        sink,
        signal: new AbortController().signal,
        connect: async (host) => {
          const target = hostTarget(inventory, host);
          return target.ok ? pool.get(target.value) : target;
        },
      });
    } finally {
      pool.closeAll();
    }
    return { ok: true, summary };
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}
