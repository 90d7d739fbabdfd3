// The decision, and nothing else: desired containers against observed ones, into an ordered
// list of operations, each with its cause. No I/O happens here, so every rule below is tested
// with plain literals (tests/services-reconcile.test.ts). Compose's rules, in Compose's order:
// surplus containers go first, then each replica is brought in line (recreated when its config
// hash, its image or a container it is tied to changed; started when stopped; created when
// missing). A container is never edited in place.
import type { Desired, LinkKind } from './desired.js';
import { linksLabel } from './desired.js';
import { changedKeys } from './hash.js';
import { displayName, type Role } from './names.js';
import type { Observed } from './observe.js';

export type Op =
  | { kind: 'remove'; old: Observed; cause: string }
  | { kind: 'create'; want: Desired; cause: string; start: boolean; wait: boolean }
  | { kind: 'recreate'; want: Desired; old: Observed; cause: string; start: boolean; wait: boolean }
  | { kind: 'start'; want: Desired; old: Observed; cause: string; wait: boolean };

export interface ReconcileInput {
  service: string;
  replicas: number;
  job: boolean;
  /** A scheduled job is prepared (created) by a converge, and run by its timer. */
  scheduled: boolean;
  desired: Desired[];
  /** Containers of this service (on-demand runs left out). */
  observed: Observed[];
  /** Id of the first container of another service, for links that point there. */
  otherService: (service: string) => string | undefined;
  /**
   * A notify handler's recreate (`on_notify: recreate`): replace exactly these containers (by
   * id), plus whatever shares a namespace or volumes with them, and converge nothing else (no
   * scaling, no starting, no catching up on other changes: that is the converge's job).
   */
  replace?: { ids: ReadonlySet<string>; cause: string };
}

/** Namespaces die with the container that holds them: whoever joined one must be recreated. */
const NAMESPACE: ReadonlySet<LinkKind> = new Set(['network', 'pid', 'ipc']);

const keyOf = (role: Role, replica: number) => `${role}#${replica}`;

export function reconcile(input: ReconcileInput): Op[] {
  const ops: Op[] = [];
  const wanted = new Map(input.desired.map((d) => [keyOf(d.role, d.replica), d]));
  const current = new Map<string, Observed>();

  // Surplus first (scale down, dropped sidecars, leftovers of an interrupted recreate); within a
  // replica sidecars go before the container they may share a namespace with.
  const surplus: Array<{ old: Observed; cause: string }> = [];
  const groups = new Map<string, Observed[]>();
  for (const o of input.observed) {
    const k = keyOf(o.role, o.replica);
    groups.set(k, [...(groups.get(k) ?? []), o]);
  }
  for (const [k, list] of groups) {
    const want = wanted.get(k);
    if (input.replace) {
      if (want) current.set(k, list.find((o) => o.name === want.name) ?? [...list].sort((a, b) => b.created - a.created)[0]);
      continue;
    }
    if (!want) {
      const o = list[0];
      const cause = o.role && !input.desired.some((d) => d.role === o.role) ? `sidecar ${o.role} is no longer in the playbook` : `scale to ${input.replicas}`;
      for (const x of list) surplus.push({ old: x, cause });
      continue;
    }
    // Two containers for one replica: keep the one with the right name, else the newest.
    const keep = list.find((o) => o.name === want.name) ?? [...list].sort((a, b) => b.created - a.created)[0];
    current.set(k, keep);
    for (const x of list) if (x !== keep) surplus.push({ old: x, cause: `duplicate of ${displayName(input.service, x.role, x.replica)}` });
  }
  surplus.sort((a, b) => b.old.replica - a.old.replica || (a.old.role === '' ? 1 : 0) - (b.old.role === '' ? 1 : 0));
  for (const s of surplus) ops.push({ kind: 'remove', old: s.old, cause: s.cause });

  // Then each replica, its own container before its sidecars (the controller ordered sidecars
  // so that one pointing at a sibling comes after it).
  const changing = new Map<string, 'replaced' | 'restarted'>();
  const opAt = new Map<string, number>();
  for (const want of input.desired) {
    const k = keyOf(want.role, want.replica);
    const old = current.get(k);
    const tied = tiedTo(want, input, current, changing);
    const op = decide(want, old, input, tied);
    if (!op) continue;
    // A container that shares the namespace of one being replaced or restarted cannot outlive
    // it: it goes before that one stops, and comes back after.
    if (old && tied.namespaceOf && op.kind !== 'remove') {
      const at = opAt.get(tied.namespaceOf)!;
      ops.splice(at, 0, { kind: 'remove', old, cause: op.cause });
      for (const [key, i] of opAt) if (i >= at) opAt.set(key, i + 1);
      ops.push({ kind: 'create', want, cause: op.cause, start: op.kind === 'start' || ('start' in op && op.start), wait: 'wait' in op && op.wait });
    } else {
      ops.push(op);
    }
    opAt.set(k, ops.length - 1);
    changing.set(k, op.kind === 'start' ? 'restarted' : 'replaced');
  }
  return ops;
}

interface Tied {
  /** Why the links no longer hold, or undefined when they do. */
  cause?: string;
  /** Key of the same-replica container whose namespace this one joins and which changes now. */
  namespaceOf?: string;
}

function tiedTo(want: Desired, input: ReconcileInput, current: Map<string, Observed>, changing: Map<string, 'replaced' | 'restarted'>): Tied {
  if (want.links.length === 0) return {};
  const resolved: Array<{ kind: LinkKind; id: string }> = [];
  for (const link of want.links) {
    if (link.ref.kind === 'container') continue;
    if (!link.ref.sameReplica) {
      resolved.push({ kind: link.kind, id: input.otherService(link.ref.service) ?? '?' });
      continue;
    }
    const k = keyOf(link.ref.sidecar ?? '', want.replica);
    const how = changing.get(k);
    const target = displayName(input.service, link.ref.sidecar ?? '', want.replica);
    if (how === 'replaced' || (how === 'restarted' && NAMESPACE.has(link.kind))) {
      return { cause: `${target} is ${how === 'replaced' ? 'replaced' : 'restarted'} (shares its ${link.kind === 'volumes' ? 'volumes' : `${link.kind} namespace`})`, namespaceOf: NAMESPACE.has(link.kind) ? k : undefined };
    }
    resolved.push({ kind: link.kind, id: current.get(k)?.id ?? '?' });
  }
  const old = current.get(keyOf(want.role, want.replica));
  if (old && old.links !== linksLabel(resolved)) return { cause: 'a container it shares namespaces or volumes with was replaced' };
  return {};
}

function decide(want: Desired, old: Observed | undefined, input: ReconcileInput, tied: Tied): Op | undefined {
  if (input.replace) {
    if (!old) return undefined;
    // A replaced container comes back in the state it was in: a notified service keeps running,
    // a stopped one stays stopped.
    const start = old.state === 'running' || old.state === 'restarting';
    if (input.replace.ids.has(old.id)) return { kind: 'recreate', want, old, cause: input.replace.cause, start, wait: false };
    if (tied.cause) return { kind: 'recreate', want, old, cause: tied.cause, start, wait: false };
    return undefined;
  }
  const runs = !input.scheduled;
  // A job's own container runs to its end; its sidecars (a log shipper) just run beside it.
  const wait = input.job && runs && want.role === '';
  if (!old) return { kind: 'create', want, cause: 'missing', start: runs, wait };
  if (old.hash !== want.hash) {
    const keys = changedKeys(old.keys, want.keys);
    return { kind: 'recreate', want, old, cause: keys.length ? `config changed: ${keys.join(', ')}` : 'config changed', start: runs, wait };
  }
  if (old.imageId !== want.imageId) return { kind: 'recreate', want, old, cause: 'image changed', start: runs, wait };
  if (tied.cause) return { kind: 'recreate', want, old, cause: tied.cause, start: runs, wait };
  if (old.name !== want.name) return { kind: 'recreate', want, old, cause: `named ${old.name}, not ${want.name}`, start: runs, wait };
  if (input.job && want.role === '') {
    if (!runs || old.state === 'running' || old.state === 'restarting') return undefined;
    if (old.state === 'exited' && old.exitCode === 0) return undefined;
    const cause = old.state === 'created' ? 'never ran' : `last run failed${old.exitCode !== undefined ? ` (exit ${old.exitCode})` : ''}`;
    return { kind: 'start', want, old, cause, wait: true };
  }
  if (old.state === 'running' || old.state === 'restarting') return undefined;
  return { kind: 'start', want, old, cause: old.state === 'exited' ? `not running (exited${old.exitCode !== undefined ? ` with ${old.exitCode}` : ''})` : `not running (${old.state})`, wait: false };
}
