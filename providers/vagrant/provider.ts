// `inventory: { provider: vagrant, dir: . }`: the machines of a Vagrantfile, as they are now.
// Machines that are not up (not created, halted) have no SSH address: they are left out, and a
// Vagrantfile with none up is an error that says `vagrant up`.
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { err, ExitCode, ok, type BerthError } from '../../controller/errors.js';
import type { InventoryProvider } from '../../controller/inventory/provider.js';
import { berthDir, dotfileDir, machineRecords } from './dotfile.js';
import { pinHostKeys, sshKeyscan, type KeyScanner } from './host-keys.js';
import { vagrantInventoryDoc } from './inventory.js';
import { parseVagrantSshConfig } from './ssh-config.js';
import { vagrantSays, vagrantSshConfig } from './vagrant-cli.js';

export interface VagrantRef {
  provider: 'vagrant';
  /** Directory of the Vagrantfile, relative to the playbook (default: the playbook's directory). */
  dir?: string;
  /** Extra groups: group -> machine names. */
  groups?: Record<string, string[]>;
}

export const vagrantInventory: InventoryProvider<VagrantRef, { scan?: KeyScanner }> = (ref, ctx) => {
  const env = ctx.env ?? process.env;
  const dir = resolve(ctx.baseDir, ref.dir ?? '.');
  const vagrantfile = join(dir, env.VAGRANT_VAGRANTFILE || 'Vagrantfile');
  if (!existsSync(vagrantfile)) {
    return err([{ code: 'inventory.vagrant-no-vagrantfile', message: `there is no ${vagrantfile}`, where: ctx.where, hint: '`dir:` is the folder of the Vagrantfile, relative to the playbook', exit: ExitCode.badInput }]);
  }
  const run = vagrantSshConfig(dir, ctx.where, env);
  if (!run.ok) return run;
  const parsed = parseVagrantSshConfig(run.value.stdout, ctx.where);
  if (!parsed.ok) return parsed;
  const machines = parsed.value;
  if (machines.length === 0) {
    const said = vagrantSays(run.value.stderr);
    return err([{
      code: 'inventory.vagrant-none-up',
      message: `no machine of ${vagrantfile} is up${said ? ` (vagrant: ${said})` : ''}`,
      where: ctx.where,
      hint: `run \`vagrant up\` in ${dir}`,
      exit: ExitCode.badInput,
    }]);
  }
  const proxied = machines.filter((m) => m.proxyCommand);
  if (proxied.length) {
    return err(proxied.map((m): BerthError => ({
      code: 'inventory.vagrant-proxy-command',
      message: `Vagrant reaches machine ${m.name} through a ProxyCommand (${m.proxyCommand}), which berth does not run`,
      where: ctx.where,
      hint: 'reach the machine directly (for libvirt, use the local URI), or write a static inventory with `jump:`',
      exit: ExitCode.badInput,
    })));
  }
  const records = machineRecords(dotfileDir(dir, env));
  // A machine that exists but is down stays in its groups without a host, like any machine not up.
  const typos = [...new Set(Object.values(ref.groups ?? {}).flat())].filter((n) => !machines.some((m) => m.name === n) && !records.has(n));
  if (typos.length) {
    return err([{ code: 'inventory.vagrant-unknown-machine', message: `groups: ${typos.join(', ')} ${typos.length > 1 ? 'are not machines' : 'is not a machine'} of ${vagrantfile}`, where: ctx.where, hint: `its machines: ${machines.map((m) => m.name).join(', ')}`, exit: ExitCode.badInput }]);
  }

  let knownHosts: string | undefined;
  // Follow the Vagrantfile: where it turned host key checking on, the operator's known_hosts apply as usual.
  const unchecked = machines.filter((m) => m.hostKeysUnchecked);
  if (unchecked.length) {
    const pinned = pinHostKeys(
      berthDir(dotfileDir(dir, env)),
      unchecked.map((m) => ({ name: m.name, id: records.get(m.name)?.id ?? '', address: m.address, port: m.port })),
      new Set(records.keys()),
      ctx.options?.scan ?? sshKeyscan,
    );
    if (!pinned.ok) return err([{ ...pinned.error, where: pinned.error.where ?? ctx.where }]);
    knownHosts = pinned.value.knownHostsPath;
  }
  const doc = vagrantInventoryDoc(machines, { groups: ref.groups, knownHosts, providers: new Map([...records].map(([n, r]) => [n, r.provider])) });
  return ok({ doc, source: vagrantfile });
};
