// Where a run's inventory comes from: `-i FILE`, or the playbook's `inventory:` (a file, an
// inline inventory, or a provider such as the lab). Every source ends as the same document
// format, validated by the same schema.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { labInventoryPath } from '../../providers/lab/lab-inventory.js';
import { pulumiInventory, type PulumiRef } from '../../providers/pulumi/provider.js';
import { vagrantInventory, type VagrantRef } from '../../providers/vagrant/provider.js';
import { badInput, err, ok, type BerthError, type Result } from '../errors.js';
import type { InventorySource } from './provider.js';
import type { InventoryDoc } from './resolve.js';

export type InventoryRef =
  | string
  | { provider: 'lab'; name?: string; hosts?: number; init?: 'tini' | 'systemd'; groups?: Record<string, string[]> }
  | { provider: 'static'; file: string }
  | VagrantRef
  | PulumiRef
  | InventoryDoc;

export type { InventoryProvider, InventorySource, ProviderContext } from './provider.js';

export type InventoryFileLoader = (path: string) => Result<InventoryDoc, BerthError[]>;


export function inventorySource(
  ref: InventoryRef | undefined,
  opts: { playbookPath: string; playbookName?: string; override?: string; where: string; loadFile: InventoryFileLoader },
): Result<InventorySource, BerthError[]> {
  const fromFile = (path: string, hint?: string): Result<InventorySource, BerthError[]> => {
    if (!existsSync(path)) return err([badInput('inventory.missing', `inventory file ${path} does not exist`, opts.where, hint)]);
    const loaded = opts.loadFile(path);
    return loaded.ok ? ok({ doc: loaded.value, source: path }) : loaded;
  };
  if (opts.override) return fromFile(resolve(opts.override));
  const base = dirname(opts.playbookPath);
  if (ref === undefined) {
    return err([badInput('inventory.none', 'no inventory: the playbook has no `inventory:` and no -i was given', opts.where, 'add `inventory: { provider: lab, name: demo }` or a path, or pass -i FILE')]);
  }
  if (typeof ref === 'string') return fromFile(resolve(base, ref));
  if ('provider' in ref) {
    switch (ref.provider) {
      case 'lab': {
        // As the schema documents: the lab named like the playbook, unless it names another.
        const name = ref.name ?? (opts.playbookName && /^[a-z0-9][a-z0-9-]*$/.test(opts.playbookName) ? opts.playbookName : 'default');
        const upCommand = `berth lab up --name ${name}${ref.hosts ? ` --hosts ${ref.hosts}` : ''}${ref.init ? ` --init ${ref.init}` : ''}`;
        const r = fromFile(labInventoryPath(name), `the lab "${name}" is not up: run \`${upCommand}\``);
        if (!r.ok) return r;
        const init = ref.init && labInit(labInventoryPath(name));
        if (init && init !== ref.init) {
          return err([badInput('inventory.lab-init', `the lab "${name}" runs ${init} hosts; the playbook's inventory asks for ${ref.init}`, opts.where, `run \`${upCommand}\` (it replaces the hosts)`)]);
        }
        if (!ref.groups) return r;
        // The playbook may arrange lab hosts into the groups its plays target.
        return ok({ ...r.value, doc: { ...r.value.doc, groups: { ...r.value.doc.groups, ...Object.fromEntries(Object.entries(ref.groups).map(([g, hosts]) => [g, { hosts }])) } } });
      }
      case 'static':
        return fromFile(resolve(base, ref.file));
      case 'vagrant':
        return vagrantInventory(ref, { baseDir: base, where: opts.where });
      case 'pulumi':
        return pulumiInventory(ref, { baseDir: base, where: opts.where });
      default:
        return err([badInput('inventory.provider', `there is no ${(ref as { provider: string }).provider} inventory provider`, opts.where, 'providers: lab, static, vagrant, pulumi')]);
    }
  }
  return ok({ doc: ref, source: '<inline>' });
}

/** What a lab's hosts run as PID 1, from the lab.json beside its inventory (tini in labs older than the choice). */
function labInit(inventoryPath: string): string | undefined {
  try {
    return (JSON.parse(readFileSync(join(dirname(inventoryPath), 'lab.json'), 'utf8')) as { init?: string }).init ?? 'tini';
  } catch {
    return undefined;
  }
}
