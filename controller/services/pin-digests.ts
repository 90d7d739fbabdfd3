// One digest per tag per run. Before a play starts, each tag its services pull from a registry is
// resolved once, by asking one host's engine what the registry has now (the host reaches the
// registry as its pulls will: its network, its insecure-registries), and the digest goes into
// every host's plan: all hosts then pull `repository@sha256:...`, so a tag pushed again while
// the play's batches run cannot leave the fleet on two images. The controller never talks to a
// registry itself.
//
// Done before the play rather than by the first host to pull, because a batch's hosts pull in
// parallel (there is no first) and plans are rendered before the first task; and per play
// rather than per run, because the engine that answers is often installed by an earlier play.
// A `missing` image that every host has costs no registry question at all: one `image.present`
// request per host says so. A tag the play's own `image` tasks make is not asked about.
import type { PullSpec, ServiceSpec } from '../../modules/service-spec.js';
import { serviceTaskModules as M } from '../../modules/service-spec.js';
import type { HostPlan, RequestBody, WireError } from '../../protocol/agent-protocol.js';

export type Ask = (host: string, body: RequestBody) => Promise<{ ok: true; result?: unknown } | { ok: false; error: WireError }>;

interface Wanted {
  ref: string;
  auth?: PullSpec['auth'];
  always: boolean;
  /** Each host's PullSpec for this image (filled in place), and the hosts that use it. */
  pulls: PullSpec[];
  hosts: Set<string>;
}

/** Fills `digest` (or `unresolved`) into the pull specs of the plans' services, in place. */
export async function pinDigests(plans: Array<{ host: string; plan: HostPlan }>, ask: Ask): Promise<void> {
  const wanted = new Map<string, Wanted>();
  const made = new Set<string>();
  for (const { host, plan } of plans) {
    for (const t of [...plan.tasks, ...plan.handlers]) {
      const imageName = t.module === 'image' ? (t.params as { spec?: { name?: unknown } } | undefined)?.spec?.name : undefined;
      if (typeof imageName === 'string') made.add(imageName);
      if (t.module !== M.converge) continue;
      for (const [ref, pull] of Object.entries((t.params as ServiceSpec).pull ?? {})) {
        if (pull.policy === 'never' || ref.includes('@')) continue;
        // The same tag with other credentials is asked about apart: the answer may differ.
        const key = JSON.stringify([ref, pull.auth?.username ?? '', pull.auth?.password ?? '']);
        const w = wanted.get(key) ?? { ref, auth: pull.auth, always: false, pulls: [], hosts: new Set<string>() };
        w.always ||= pull.policy === 'always';
        w.pulls.push(pull);
        w.hosts.add(host);
        wanted.set(key, w);
      }
    }
  }
  const open = [...wanted.values()].filter((w) => w.always || !made.has(w.ref));
  if (open.length === 0) return;

  // `missing` tags: asked about only when a host of the play lacks them.
  const lacking = new Map<string, Set<string>>();
  const engines = new Set<string>();
  const byHost = new Map<string, Set<string>>();
  for (const w of open) if (!w.always) for (const h of w.hosts) byHost.set(h, (byHost.get(h) ?? new Set()).add(w.ref));
  await Promise.all(
    [...byHost].map(async ([host, refs]) => {
      const r = await ask(host, { method: 'image.present', params: { refs: [...refs] } });
      const answer = r.ok ? (r.result as { present?: string[]; engine?: boolean } | undefined) : undefined;
      const present = new Set(answer?.present ?? []);
      if (answer?.engine) engines.add(host);
      for (const ref of refs) if (!present.has(ref)) lacking.set(ref, (lacking.get(ref) ?? new Set()).add(host));
    }),
  );

  await Promise.all(
    open
      .filter((w) => w.always || lacking.has(w.ref))
      .map(async (w) => {
        // A host that must pull it asks (its engine will do the pull), else one that answered with an engine.
        const hosts = [...w.hosts];
        const asker = hosts.find((h) => lacking.get(w.ref)?.has(h)) ?? hosts.find((h) => engines.has(h)) ?? hosts[0];
        const r = await ask(asker, { method: 'image.digest', params: { ref: w.ref, ...(w.auth ? { auth: w.auth } : {}) } });
        const digest = r.ok ? (r.result as { digest?: unknown } | undefined)?.digest : undefined;
        for (const p of w.pulls) {
          if (typeof digest === 'string') p.digest = digest;
          else if (!r.ok) p.unresolved = { message: `${r.error.message} (asked through ${asker})`, ...(r.error.detail ? { hint: r.error.detail } : {}) };
        }
      }),
  );
}
