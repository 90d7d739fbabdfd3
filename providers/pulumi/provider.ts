// `inventory: { provider: pulumi, stack: dev }` or `{ provider: pulumi, outputs_file: stack.json }`:
// hosts from a Pulumi stack's outputs. The program exports
//   berthHosts: [{ name, address, port?, user?, key?, hostKey?, groups?, vars?, ... }]   (required)
//   berthSsh:   { user?, key?, port?, become?, jump?, known_hosts? }                     (optional)
//   berthVars:  { ... }                                                                  (optional)
// (providers/pulumi/hosts-schema.ts; docs/providers.md has an example program).
import { createHash } from 'node:crypto';
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { badInput, err, ok, type BerthError } from '../../controller/errors.js';
import type { InventoryProvider } from '../../controller/inventory/provider.js';
import { stateDir } from '../../controller/paths.js';
import { hostListErrors, hostsInventory, schemaErrors } from './hosts.js';
import { BerthHosts, BerthSsh, OUTPUT_HOSTS, OUTPUT_SSH, OUTPUT_VARS, type BerthHost, type BerthSsh as Ssh } from './hosts-schema.js';
import { outputsFromFile, outputsFromStack, type StackOutputs } from './stack-outputs.js';

export interface PulumiRef {
  provider: 'pulumi';
  /** Stack to read through the Automation API (default: the project's selected stack). */
  stack?: string;
  /** A saved `pulumi stack output --json`, relative to the playbook, read instead of asking Pulumi. */
  outputs_file?: string;
  /** The Pulumi project folder, relative to the playbook (default: the playbook's folder). */
  dir?: string;
}

/** `pulumi stack output --json` without --show-secrets prints this for every secret. */
const HIDDEN_SECRET = '[secret]';

function hiddenSecrets(v: unknown, path: string): string[] {
  if (v === HIDDEN_SECRET) return [path];
  if (Array.isArray(v)) return v.flatMap((x, i) => hiddenSecrets(x, `${path}[${i}]`));
  if (v && typeof v === 'object') return Object.entries(v).flatMap(([k, x]) => hiddenSecrets(x, `${path}.${k}`));
  return [];
}

export interface OutputsOrigin {
  /** What messages call the outputs: the file, or the stack. */
  name: string;
  /** The inventory's source: relative key paths in the outputs resolve against its folder. */
  source: string;
  where: string;
  knownHostsPath: string;
}

export function inventoryFromOutputs(outputs: StackOutputs, origin: OutputsOrigin): ReturnType<InventoryProvider<PulumiRef>> {
  const { name: source, where, knownHostsPath } = origin;
  const problems: BerthError[] = [];
  const label = `${source}: ${OUTPUT_HOSTS}`;
  if (!(OUTPUT_HOSTS in outputs)) {
    return err([badInput('inventory.pulumi-no-hosts', `${source} has no output ${OUTPUT_HOSTS} (it has: ${Object.keys(outputs).join(', ') || 'none'})`, where, `export the hosts from the Pulumi program: export const ${OUTPUT_HOSTS} = [{ name, address, user, ... }]`)]);
  }
  const secrets = [OUTPUT_HOSTS, OUTPUT_SSH, OUTPUT_VARS].flatMap((k) => hiddenSecrets(outputs[k], k));
  if (secrets.length) {
    return err([badInput('inventory.pulumi-secret-hidden', `${source}: ${secrets.slice(0, 3).join(', ')} ${secrets.length > 1 ? 'are' : 'is'} a secret shown as "${HIDDEN_SECRET}"`, where, 'save the outputs with `pulumi stack output --json --show-secrets`')]);
  }
  problems.push(...schemaErrors(BerthHosts, outputs[OUTPUT_HOSTS], label, where, 'each host is { name, address, port?, user?, key?, known_hosts?, hostKey?, become?, jump?, groups?, vars? }'));
  if (outputs[OUTPUT_SSH] !== undefined) problems.push(...schemaErrors(BerthSsh, outputs[OUTPUT_SSH], `${source}: ${OUTPUT_SSH}`, where));
  const vars = outputs[OUTPUT_VARS];
  if (vars !== undefined && (typeof vars !== 'object' || vars === null || Array.isArray(vars))) problems.push(badInput('inventory.pulumi-shape', `${source}: ${OUTPUT_VARS} must be an object of variables`, where));
  if (problems.length) return err(problems);
  const hosts = outputs[OUTPUT_HOSTS] as BerthHost[];
  problems.push(...hostListErrors(hosts, label, where));
  if (problems.length) return err(problems);
  const inv = hostsInventory(hosts, { ssh: outputs[OUTPUT_SSH] as Ssh | undefined, vars: vars as Record<string, unknown> | undefined, knownHostsPath });
  if (inv.knownHosts) {
    mkdirSync(join(knownHostsPath, '..'), { recursive: true, mode: 0o700 });
    const tmp = `${knownHostsPath}.tmp-${process.pid}`;
    writeFileSync(tmp, `# Host keys from ${source} (written by berth on every run)\n${inv.knownHosts}`);
    renameSync(tmp, knownHostsPath);
  }
  return ok({ doc: inv.doc, source: origin.source });
}

export const pulumiInventory: InventoryProvider<PulumiRef> = (ref, ctx) => {
  const workDir = resolve(ctx.baseDir, ref.dir ?? '.');
  const file = ref.outputs_file ? resolve(ctx.baseDir, ref.outputs_file) : undefined;
  const outputs = file ? outputsFromFile(file, ctx.where) : outputsFromStack(workDir, ref.stack, ctx.where, ctx.env);
  if (!outputs.ok) return outputs;
  const name = file ?? `stack ${ref.stack ?? '(selected)'} of ${workDir}`;
  // Pinned host keys live with berth's state, named after where they came from, not beside the operator's files.
  const knownHostsPath = join(stateDir(), 'pulumi', `known_hosts-${createHash('sha256').update(name).digest('hex').slice(0, 16)}`);
  return inventoryFromOutputs(outputs.value, { name, source: file ?? join(workDir, 'Pulumi.yaml'), where: ctx.where, knownHostsPath });
};
