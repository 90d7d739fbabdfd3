// Which secrets a host's plan carries: only those its own tasks use. A secret is used when its
// value (or a line of a multi-line one) is in what the plan sends: rendered parameters, task
// names and vars, content the host will fetch; or when the agent evaluates text naming it: a
// condition, or a template left for the agent to render. Every other secret is neither in the
// plan's mask list nor in its vars, so a host never holds a secret meant for another.
import type { HostPlan, PlannedTask } from '../../protocol/agent-protocol.js';
import { secretNeedles } from '../../protocol/mask.js';
import type { BlobRegistry } from '../blobs.js';

/** Content larger than this is not searched for secrets (image layers, archives): it is not text to show. */
const MAX_SCANNED_BYTES = 64 * 1024 * 1024;

interface Secret {
  name: string;
  value: string;
  needles: string[];
  /** Matches the secret's name as a word in an expression or a template. */
  named: RegExp;
}

/** For one run: a function that narrows each host's plan to the secrets its tasks use. */
export function secretsPerHost(secretVars: Record<string, unknown>, blobs: BlobRegistry): (plan: HostPlan) => HostPlan {
  const secrets: Secret[] = Object.entries(secretVars)
    .filter((e): e is [string, string] => typeof e[1] === 'string' && e[1] !== '')
    .map(([name, value]) => ({ name, value, needles: secretNeedles([value]), named: new RegExp(`(?<![\\w.$])${escapeRegExp(name)}(?![\\w$])`) }));
  // The same content goes to many hosts: searched once per run.
  const inBlob = new Map<string, Set<string>>();
  const blobSecrets = (sha256: string): Set<string> => {
    let found = inBlob.get(sha256);
    if (found) return found;
    found = new Set();
    const b = blobs.get(sha256);
    if (b && b.length <= MAX_SCANNED_BYTES) for (const s of secrets) if (s.needles.some((n) => b.includes(n))) found.add(s.name);
    inBlob.set(sha256, found);
    return found;
  };

  return (plan) => {
    if (secrets.length === 0) return { ...plan, secrets: [] };
    const used = new Set<string>();
    const scan = (t: PlannedTask): PlannedTask => {
      const sent = strings([t.name, t.params, t.vars]);
      const evaluated = strings([t.when, t.changedWhen, t.failedWhen, t.deferred ? t.params : undefined]);
      const inContent = new Set(hashes(t.params).flatMap((h) => [...blobSecrets(h)]));
      for (const s of secrets) {
        if (inContent.has(s.name) || sent.some((x) => s.needles.some((n) => x.includes(n))) || evaluated.some((x) => s.named.test(x))) used.add(s.name);
      }
      return inContent.size ? { ...t, secretDiff: true } : t;
    };
    const tasks = plan.tasks.map(scan);
    const handlers = plan.handlers.map(scan);
    // The vars hold every secret by name (they are the host's template scope): keep only the used ones.
    const vars = { ...plan.vars };
    for (const s of secrets) if (!used.has(s.name) && vars[s.name] === s.value) delete vars[s.name];
    return { ...plan, tasks, handlers, vars, secrets: secrets.filter((s) => used.has(s.name)).map((s) => s.value) };
  };
}

/** Every string inside a value (keys included: a rendered map may be keyed by a secret). */
function strings(v: unknown, out: string[] = []): string[] {
  if (typeof v === 'string') out.push(v);
  else if (Array.isArray(v)) for (const x of v) strings(x, out);
  else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) (out.push(k), strings(x, out));
  return out;
}

/** Content hashes a task's parameters refer to (copy, template, build contexts): `sha256` fields at any depth. */
function hashes(v: unknown, out: string[] = []): string[] {
  if (Array.isArray(v)) for (const x of v) hashes(x, out);
  else if (v && typeof v === 'object') {
    for (const [k, x] of Object.entries(v)) {
      if (k === 'sha256' && typeof x === 'string' && /^[0-9a-f]{64}$/.test(x)) out.push(x);
      else hashes(x, out);
    }
  }
  return out;
}

const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
