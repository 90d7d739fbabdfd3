// berth.Playbook: a Pulumi resource that converges hosts to a berth playbook.
//
//   const web = new berth.Playbook('web', { playbook: 'site.yml', hosts: vms.map(...), privateKey: key.privateKeyOpenssh });
//
// A dynamic provider's object is serialized into the stack (function serialization) and run by
// Pulumi's provider host later, in another process. So the object here is a stub that captures two
// strings, the module path of the real operations (playbook-provider.ts) and of tsx's loader
// (berth's sources are TypeScript), and imports them when an operation runs. Nothing of berth's
// controller, no SSH client and no secret ends up in the serialized text.
import { resolve } from 'node:path';
import * as pulumi from '@pulumi/pulumi';
import type { HostRecap } from '../../controller/run/events.js';
import type { BerthHost, BerthSsh } from './hosts-schema.js';

export type { BerthHost, BerthSsh } from './hosts-schema.js';

type Inputs<T> = { [K in keyof T]: pulumi.Input<T[K]> };

export interface PlaybookArgs {
  /** A playbook file (relative to the program's folder) or inline playbook YAML. */
  playbook: pulumi.Input<string>;
  /** The hosts: typically mapped from VM resources' outputs. */
  hosts: pulumi.Input<pulumi.Input<Inputs<BerthHost>>[]>;
  /** Connection settings every host starts from. */
  ssh?: pulumi.Input<Inputs<BerthSsh>>;
  /** Private key content for hosts that have no key file (stored as a secret). */
  privateKey?: pulumi.Input<string>;
  /** Extra vars, like `berth apply -e`. */
  vars?: pulumi.Input<Record<string, pulumi.Input<unknown>>>;
  /** Vars that never appear in outputs, plans or errors (stored as a secret). */
  secretVars?: pulumi.Input<Record<string, pulumi.Input<unknown>>>;
  /** `--limit`: a host pattern. */
  limit?: pulumi.Input<string>;
  /** A playbook run when the resource is deleted (file or inline). Default: none, hosts stay as they are. */
  teardown?: pulumi.Input<string>;
  /** Record the keys of hosts not in known_hosts yet (berth's --accept-new-host-keys). */
  acceptNewHostKeys?: pulumi.Input<boolean>;
  /** Ask the hosts what would change on every preview (default true): drift detection, at one check run per preview. */
  preview?: pulumi.Input<boolean>;
  forks?: pulumi.Input<number>;
  /** Any values; when they change, the playbook is applied again. */
  triggers?: pulumi.Input<unknown[]>;
}

/** Module path of the operations, and tsx's API for importing TypeScript from plain Node. */
export interface ProviderModules {
  impl: string;
  tsx: string;
}

export const providerModules = (): ProviderModules => ({
  impl: new URL('./playbook-provider.ts', import.meta.url).href,
  tsx: import.meta.resolve('tsx/esm/api'),
});

type Ops = typeof import('./playbook-provider.js');

/** The stub the engine serializes. Only `m` (two strings) is captured. */
export function lazyProvider(m: ProviderModules): pulumi.dynamic.ResourceProvider {
  const load = async (): Promise<Ops> => {
    const { tsImport } = (await import(m.tsx)) as { tsImport: (specifier: string, parent: string) => Promise<Ops> };
    return tsImport(m.impl, m.impl);
  };
  return {
    check: async (olds, news) => (await load()).check(olds, news),
    diff: async (id, olds, news) => (await load()).diff(id, olds, news),
    create: async (inputs) => (await load()).create(inputs),
    update: async (id, olds, news) => (await load()).update(id, olds, news),
    delete: async (id, props) => (await load()).delete(id, props),
  };
}

// One stub object per program: the SDK caches serialization by object identity.
let shared: pulumi.dynamic.ResourceProvider | undefined;
const provider = (): pulumi.dynamic.ResourceProvider => (shared ??= lazyProvider(providerModules()));

/** A playbook file relative to the program (which Pulumi runs in its project folder); inline YAML as is. */
const absolute = (p: pulumi.Input<string> | undefined) => (p === undefined ? undefined : pulumi.output(p).apply((s) => (s.includes('\n') ? s : resolve(s))));

export class Playbook extends pulumi.dynamic.Resource {
  /** Per host: ok / changed / failed / skipped counts and unreachable, from the last apply. */
  declare readonly recap: pulumi.Output<Record<string, HostRecap>>;
  /** Per host, the tasks the last apply changed. */
  declare readonly changed: pulumi.Output<Record<string, string[]>>;
  /** Per host, what applying would change now (from the last check); `{}` when converged. */
  declare readonly plan: pulumi.Output<Record<string, string[]>>;
  /** The services' releases (image digest + config hash per service), once berth deploys services. */
  declare readonly releases: pulumi.Output<Record<string, unknown>>;
  declare readonly appliedAt: pulumi.Output<string>;

  constructor(name: string, args: PlaybookArgs, opts?: pulumi.CustomResourceOptions) {
    const props: pulumi.Inputs = {
      ...args,
      playbook: absolute(args.playbook),
      teardown: absolute(args.teardown),
      // Output properties: present (undefined) so that the SDK registers them.
      recap: undefined,
      changed: undefined,
      plan: undefined,
      releases: undefined,
      appliedAt: undefined,
      playbookHash: undefined,
    };
    super(provider(), name, props, { ...opts, additionalSecretOutputs: [...(opts?.additionalSecretOutputs ?? []), 'privateKey', 'secretVars'] }, 'berth', 'Playbook');
  }
}
