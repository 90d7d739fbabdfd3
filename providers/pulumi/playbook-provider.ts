// The berth.Playbook resource's operations (a Pulumi dynamic ResourceProvider), on plain values.
// resource.ts hands the engine a small stub that loads this module by path, so nothing here is
// serialized into the stack's state; tests call these functions directly.
//
//   check   validates the inputs, then asks every host's agent what the playbook would change
//           (berth's check mode) and returns that as the `plan` input: `pulumi preview --diff`
//           shows it, and a host that drifted makes `plan` differ from the stored `{}`.
//   diff    compares inputs (the playbook's content hash, hosts, vars, ..., plan): no host is
//           contacted twice.
//   create, update   apply the playbook (`berth apply`); any unreachable host or failed task fails
//           the operation, and Pulumi tries again on the next `up` (berth converges, so re-runs are safe).
//   delete  runs the optional `teardown` playbook; without one, hosts are left as they are (berth
//           does not un-configure a machine, and the machines usually go away with their own resources).
import { createHash, randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatError } from '../../controller/errors.js';
import type { HostRecap } from '../../controller/run/events.js';
import { hostListErrors, schemaErrors } from './hosts.js';
import { BerthHosts, BerthSsh, type BerthHost } from './hosts-schema.js';
import { problemLines, runBerth, type BerthRunInput, type BerthRunOutcome, type BerthRunSummary } from './run-berth.js';

/**
 * What the engine sends for a value not known yet (during preview, e.g. the address of a VM
 * that does not exist yet): @pulumi/pulumi's runtime.unknownValue, copied so that loading this
 * module does not load the SDK's runtime.
 */
export const UNKNOWN = '04da6b54-80e4-46f7-96ec-b56ff0331ba9';

export interface PlaybookInputs {
  /** A playbook file (absolute: resource.ts resolves it in the program) or inline YAML (has a newline). */
  playbook: string;
  hosts: BerthHost[];
  ssh?: BerthSsh;
  /** Private key content, for hosts whose key exists only in the program (keep it a secret). */
  privateKey?: string;
  vars?: Record<string, unknown>;
  /** Vars whose values never appear in outputs, diffs or errors. */
  secretVars?: Record<string, unknown>;
  limit?: string;
  /** A playbook (file or inline) run on delete. */
  teardown?: string;
  acceptNewHostKeys?: boolean;
  /** Ask the hosts for pending changes in check (default true); false makes diff compare inputs only. */
  preview?: boolean;
  forks?: number;
  /** Any values; a change re-applies the playbook even when nothing else changed. */
  triggers?: unknown[];
  /** Set by check: sha256 of the playbook text. */
  playbookHash?: string;
  /** Set by check: per host, what applying would change now. `{}` when converged. */
  plan?: Record<string, string[]>;
}

export interface PlaybookOutputs extends PlaybookInputs {
  recap: Record<string, HostRecap>;
  /** Per host, what the last apply changed. */
  changed: Record<string, string[]>;
  /** Releases of the playbook's services, per service, once berth deploys services (empty until then). */
  releases: Record<string, unknown>;
  appliedAt: string;
}

interface CheckFailure {
  property: string;
  reason: string;
}

const isInline = (playbook: string): boolean => playbook.includes('\n');

const containsUnknown = (v: unknown): boolean =>
  v === UNKNOWN || (Array.isArray(v) ? v.some(containsUnknown) : v !== null && typeof v === 'object' ? Object.values(v).some(containsUnknown) : false);

function playbookText(playbook: string): string | undefined {
  if (isInline(playbook)) return playbook;
  return existsSync(playbook) ? readFileSync(playbook, 'utf8') : undefined;
}

/** Runs berth with a playbook given as a path or inline text (written to a temp file for the run). */
async function withPlaybook<T>(playbook: string, fn: (path: string) => Promise<T>): Promise<T> {
  if (!isInline(playbook)) return fn(playbook);
  const dir = mkdtempSync(join(tmpdir(), 'berth-pulumi-playbook-'));
  try {
    const path = join(dir, 'playbook.yml');
    writeFileSync(path, playbook);
    return await fn(path);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function runInput(p: PlaybookInputs, path: string, check: boolean): BerthRunInput {
  return { playbookPath: path, hosts: p.hosts, ssh: p.ssh, privateKey: p.privateKey, vars: p.vars, secretVars: p.secretVars, limit: p.limit, check, acceptNewHostKeys: p.acceptNewHostKeys, forks: p.forks };
}

const attempt = (p: PlaybookInputs, playbook: string, check: boolean): Promise<BerthRunOutcome> =>
  withPlaybook(playbook, (path) => runBerth(runInput(p, path, check)));

// Pulumi's contract: an operation fails by rejecting. These are the only throws for input that
// is not a bug, and they carry berth's own messages.
async function run(p: PlaybookInputs, playbook: string, check: boolean): Promise<BerthRunSummary> {
  const outcome = await attempt(p, playbook, check);
  if (!outcome.ok) throw new Error(`berth: ${outcome.errors.map(formatError).join('\n')}`);
  return outcome.summary;
}

function failIfUnconverged(s: BerthRunSummary, what: string): void {
  if (s.exitCode === 0) return;
  throw new Error(`berth: ${what} did not converge every host (exit code ${s.exitCode}):\n${problemLines(s).join('\n') || 'see the recap'}`);
}

async function apply(p: PlaybookInputs): Promise<PlaybookOutputs> {
  const s = await run(p, p.playbook, false);
  failIfUnconverged(s, 'the playbook');
  // Converged: nothing is pending, which is what the next check compares its plan with.
  return { ...p, plan: {}, recap: s.recap, changed: s.changes, releases: {}, appliedAt: new Date().toISOString() };
}

export async function check(_olds: Partial<PlaybookInputs>, news: PlaybookInputs): Promise<{ inputs: PlaybookInputs; failures: CheckFailure[] }> {
  const failures: CheckFailure[] = [];
  const inputs: PlaybookInputs = { ...news };
  delete inputs.plan;
  if (typeof news.playbook !== 'string' || !news.playbook) failures.push({ property: 'playbook', reason: 'a playbook file or inline playbook YAML is required' });
  else if (news.playbook !== UNKNOWN) {
    const text = playbookText(news.playbook);
    if (text === undefined) failures.push({ property: 'playbook', reason: `${news.playbook} does not exist` });
    else inputs.playbookHash = createHash('sha256').update(text).digest('hex');
  }
  if (typeof news.teardown === 'string' && news.teardown !== UNKNOWN && playbookText(news.teardown) === undefined) failures.push({ property: 'teardown', reason: `${news.teardown} does not exist` });
  if (!containsUnknown(news.hosts)) {
    for (const e of schemaErrors(BerthHosts, news.hosts, 'hosts', 'hosts')) failures.push({ property: 'hosts', reason: e.message });
    if (!failures.some((f) => f.property === 'hosts')) for (const e of hostListErrors(news.hosts, 'hosts', 'hosts')) failures.push({ property: 'hosts', reason: e.message });
  }
  if (news.ssh !== undefined && !containsUnknown(news.ssh)) for (const e of schemaErrors(BerthSsh, news.ssh, 'ssh', 'ssh')) failures.push({ property: 'ssh', reason: e.message });
  if (failures.length || news.preview === false || containsUnknown(news)) return { inputs, failures };

  const outcome = await attempt(news, news.playbook, true);
  if (!outcome.ok) return { inputs, failures: outcome.errors.map((e) => ({ property: 'playbook', reason: formatError(e) })) };
  // Hosts that cannot be asked (not booted yet, say) are part of the plan: the apply will find out.
  const plan: Record<string, string[]> = {};
  for (const [host, lines] of [...Object.entries(outcome.summary.changes), ...Object.entries(outcome.summary.problems)]) (plan[host] ??= []).push(...lines);
  inputs.plan = plan;
  return { inputs, failures };
}

const COMPARED: (keyof PlaybookInputs)[] = ['playbook', 'playbookHash', 'hosts', 'ssh', 'privateKey', 'vars', 'secretVars', 'limit', 'teardown', 'acceptNewHostKeys', 'forks', 'triggers', 'plan'];

/** Key-order-insensitive JSON, so that {a, b} and {b, a} compare equal. */
const canonical = (v: unknown): string =>
  JSON.stringify(v, (_k, x: unknown) => (x && typeof x === 'object' && !Array.isArray(x) ? Object.fromEntries(Object.entries(x).sort(([a], [b]) => a.localeCompare(b))) : x)) ?? 'undefined';

export async function diff(_id: string, olds: PlaybookOutputs, news: PlaybookInputs): Promise<{ changes: boolean; replaces: string[] }> {
  // A value not known yet (a VM's address during the first preview) may change anything.
  if (containsUnknown(news)) return { changes: true, replaces: [] };
  const changed = COMPARED.filter((k) => canonical(olds[k] ?? null) !== canonical(news[k] ?? null));
  // `plan` absent means check did not ask the hosts (preview: false): nothing to compare there.
  const relevant = news.preview === false ? changed.filter((k) => k !== 'plan') : changed;
  // Nothing is ever replaced: a playbook is converged in place.
  return { changes: relevant.length > 0, replaces: [] };
}

export async function create(inputs: PlaybookInputs): Promise<{ id: string; outs: PlaybookOutputs }> {
  return { id: randomUUID(), outs: await apply(inputs) };
}

export async function update(_id: string, _olds: PlaybookOutputs, news: PlaybookInputs): Promise<{ outs: PlaybookOutputs }> {
  return { outs: await apply(news) };
}

async function remove(_id: string, props: PlaybookOutputs): Promise<void> {
  if (!props.teardown) return;
  const s = await run(props, props.teardown, false);
  // A host that is gone needs no teardown; a task that fails on a host that is there does fail the delete.
  const failedTasks = Object.entries(s.recap).filter(([, r]) => r.failed > 0);
  if (failedTasks.length) throw new Error(`berth: the teardown playbook failed on ${failedTasks.map(([h]) => h).join(', ')}:\n${problemLines(s).join('\n')}`);
}
export { remove as delete };
