// What `vagrant ssh-config` prints (Vagrant's templates/commands/ssh_config/config.erb: one
// `Host NAME` block per machine that is ready for SSH), read with the ssh-config package into
// plain machine values. Only the directives that template can emit matter here.
import SSHConfig from 'ssh-config';
import { badInput, err, ok, type BerthError, type Result } from '../../controller/errors.js';

export interface VagrantMachineSsh {
  /** The machine name from the Vagrantfile (`config.vm.define NAME`). */
  name: string;
  address: string;
  port: number;
  user: string;
  /** In the order Vagrant lists them; the first that exists is the one berth uses. */
  identityFiles: string[];
  /**
   * True when Vagrant told ssh to skip host key checks (its default: `StrictHostKeyChecking no`,
   * `UserKnownHostsFile /dev/null`); false when the Vagrantfile set `config.ssh.verify_host_key`.
   */
  hostKeysUnchecked: boolean;
  /** Set when the machine is reached through a command (remote libvirt, some cloud plugins). */
  proxyCommand?: string;
}

type Value = string | { val: string }[];
const text = (v: Value): string => (typeof v === 'string' ? v : v.map((p) => p.val).join(' '));

export function parseVagrantSshConfig(output: string, where: string): Result<VagrantMachineSsh[], BerthError[]> {
  let parsed: SSHConfig;
  try {
    parsed = SSHConfig.parse(output);
  } catch (e) {
    return err([badInput('inventory.vagrant-output', `cannot read the output of \`vagrant ssh-config\`: ${(e as Error).message.split('\n')[0]}`, where)]);
  }
  const machines: VagrantMachineSsh[] = [];
  const problems: BerthError[] = [];
  for (const line of parsed) {
    if (line.type !== SSHConfig.DIRECTIVE || line.param.toLowerCase() !== 'host' || !('config' in line)) continue;
    const name = text(line.value);
    const values = new Map<string, string[]>();
    for (const d of line.config) {
      if (d.type !== SSHConfig.DIRECTIVE) continue;
      const key = d.param.toLowerCase();
      values.set(key, [...(values.get(key) ?? []), text(d.value)]);
    }
    const one = (k: string) => values.get(k)?.[0];
    const port = Number(one('port') ?? 22);
    const address = one('hostname');
    if (!address || !Number.isInteger(port) || port < 1 || port > 65535) {
      problems.push(badInput('inventory.vagrant-output', `\`vagrant ssh-config\` gave machine ${name} no usable HostName/Port`, where));
      continue;
    }
    machines.push({
      name,
      address,
      port,
      user: one('user') ?? 'vagrant',
      identityFiles: values.get('identityfile') ?? [],
      hostKeysUnchecked: one('stricthostkeychecking')?.toLowerCase() === 'no',
      proxyCommand: one('proxycommand'),
    });
  }
  return problems.length ? err(problems) : ok(machines);
}
