// A Pulumi program that creates cloud VMs and converges them with berth: `pulumi up` creates the
// VMs, then applies site.yml to them through berth's agent; `pulumi preview --diff` shows what
// berth would change on each host (the Playbook's `plan`), so drift on a host shows up there.
//
// It uses only @pulumi/pulumi so that it type-checks and runs under the SDK's mocks anywhere
// (tests/providers-pulumi-program.test.ts). `Instance` below registers the same resource type as
// @pulumi/aws's ec2.Instance, with the few inputs and outputs this program uses; with the aws
// package installed, write instead:
//
//   import * as aws from '@pulumi/aws';
//   const vm = new aws.ec2.Instance(name, { ami, instanceType: 't3.small', keyName, vpcSecurityGroupIds: [sg.id], tags: { Name: name } });
//
// Host keys: berth verifies them. This program accepts each VM's key on first contact
// (acceptNewHostKeys) and records it in ~/.ssh/known_hosts. Stricter: generate the host key in the
// program (@pulumi/tls PrivateKey), give it to the VM through cloud-init's `ssh_keys`, and pass
// `hostKey: hostKey.publicKeyOpenssh` for the host; berth then pins exactly that key.
import * as pulumi from '@pulumi/pulumi';
// In a project of your own: import * as berth from 'berth/providers/pulumi/resource.js' (or wherever berth lives).
import * as berth from '../resource.js';

interface InstanceArgs {
  ami: pulumi.Input<string>;
  instanceType: pulumi.Input<string>;
  keyName?: pulumi.Input<string>;
  userData?: pulumi.Input<string>;
  tags?: pulumi.Input<Record<string, pulumi.Input<string>>>;
}

/** The part of aws.ec2.Instance this program needs (same type token, so the same resource). */
class Instance extends pulumi.CustomResource {
  declare readonly publicIp: pulumi.Output<string>;
  declare readonly privateIp: pulumi.Output<string>;

  constructor(name: string, args: InstanceArgs, opts?: pulumi.CustomResourceOptions) {
    super('aws:ec2/instance:Instance', name, { ...args, publicIp: undefined, privateIp: undefined }, opts);
  }
}

const config = new pulumi.Config();
const count = config.getNumber('hosts') ?? 2;
// Debian's AMIs log in as `admin`; the key pair is uploaded to the cloud separately (aws.ec2.KeyPair).
const ami = config.get('ami') ?? 'ami-0c1234567890debian12';
const keyName = config.get('keyName') ?? 'berth-operator';
const keyFile = config.get('keyFile') ?? `${process.env.HOME}/.ssh/id_ed25519`;

const vms = Array.from({ length: count }, (_, i) => {
  const name = `web${i + 1}`;
  return { name, vm: new Instance(name, { ami, instanceType: 't3.small', keyName, tags: { Name: name, 'managed-by': 'berth' } }) };
});

/** The hosts, as berth's Playbook takes them and as `berth apply` reads them from the stack (berthHosts). */
const hosts: pulumi.Output<berth.BerthHost[]> = pulumi.all(vms.map(({ vm }) => vm.publicIp)).apply((ips) =>
  ips.map((address, i) => ({ name: vms[i]!.name, address, user: 'admin', become: true, groups: ['web'], vars: { env: pulumi.getStack() } })),
);

const fleet = new berth.Playbook('fleet', {
  playbook: 'site.yml',
  hosts,
  ssh: { key: keyFile },
  acceptNewHostKeys: true,
  // `pulumi config set --secret ...` values go in secretVars: berth masks them in every output.
  vars: { env: pulumi.getStack() },
});

// `inventory: { provider: pulumi, stack: dev }` in a playbook reads these: day-2 runs of other
// playbooks (`berth apply`) against the same fleet, without Pulumi in the loop.
export const berthHosts = hosts;
export const berthSsh = { key: keyFile };
export const recap = fleet.recap;
export const plan = fleet.plan;
