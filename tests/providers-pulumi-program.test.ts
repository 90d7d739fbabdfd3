// The example Pulumi program's resource graph under the SDK's own mocks (no pulumi CLI, no
// cloud): the VMs' addresses flow into berth.Playbook's hosts and into the berthHosts output
// that the pulumi inventory provider reads, and the provider stub serialized into the stack
// names berth's operations by path and holds no secret.
import { join } from 'node:path';
import * as pulumi from '@pulumi/pulumi';
import { test } from 'uvu';
import * as assert from 'uvu/assert';

const example = new URL('../providers/pulumi/example/', import.meta.url).pathname;

interface Registered {
  type: string;
  name: string;
  inputs: Record<string, any>;
}
const registered: Registered[] = [];

const value = <T>(o: pulumi.Output<T>): Promise<T> => new Promise((resolve) => o.apply((v) => (resolve(v), v)));

let program: Record<string, pulumi.Output<any>>;

test.before(async () => {
  await pulumi.runtime.setMocks(
    {
      newResource(args) {
        registered.push({ type: args.type, name: args.name, inputs: args.inputs });
        if (args.type === 'aws:ec2/instance:Instance') {
          const n = Number(args.name.replace(/\D/g, ''));
          return { id: `i-${n}`, state: { ...args.inputs, publicIp: `203.0.113.${10 + n}`, privateIp: `10.0.0.${10 + n}` } };
        }
        // What berth's create would return, without contacting anything.
        return { id: `${args.name}-id`, state: { ...args.inputs, recap: {}, changed: {}, plan: {}, releases: {}, appliedAt: 'now' } };
      },
      call: (args) => args.inputs,
    },
    'berth-fleet',
    'dev',
    false,
  );
  // The program resolves its playbook against its own folder, as Pulumi runs it there.
  const cwd = process.cwd();
  process.chdir(example);
  try {
    program = (await import('../providers/pulumi/example/index.js')) as unknown as Record<string, pulumi.Output<any>>;
    await value(program.recap!);
  } finally {
    process.chdir(cwd);
  }
});

test('two VMs and one berth.Playbook over them', () => {
  assert.equal(registered.filter((r) => r.type === 'aws:ec2/instance:Instance').map((r) => r.name).sort(), ['web1', 'web2']);
  const playbooks = registered.filter((r) => r.type === 'pulumi-nodejs:dynamic/berth:Playbook');
  assert.is(playbooks.length, 1);
  assert.is(playbooks[0]!.name, 'fleet');
});

test("the Playbook's hosts are the VMs' addresses; its playbook path is resolved in the program's folder", () => {
  const pb = registered.find((r) => r.name === 'fleet')!.inputs;
  assert.equal(pb.hosts.map((h: any) => [h.name, h.address, h.user, h.groups]), [['web1', '203.0.113.11', 'admin', ['web']], ['web2', '203.0.113.12', 'admin', ['web']]]);
  assert.is(pb.playbook, join(example, 'site.yml'));
  assert.equal(pb.vars, { env: 'dev' });
  assert.is(pb.acceptNewHostKeys, true);
});

test('the serialized provider names the operations module by path and captures nothing else of berth', () => {
  const text = registered.find((r) => r.name === 'fleet')!.inputs.__provider as string;
  assert.type(text, 'string');
  assert.match(text, /providers\/pulumi\/playbook-provider\.ts/);
  assert.match(text, /tsx\/dist\/esm\/api/);
  assert.ok(text.length < 10_000, `${text.length} bytes: something big was captured`);
  assert.not.match(text, /ssh2|applyPlaybook|createSshPool/);
});

test('the stack exports berthHosts in the shape the pulumi inventory provider reads', async () => {
  const hosts = await value(program.berthHosts!);
  assert.equal(hosts[0], { name: 'web1', address: '203.0.113.11', user: 'admin', become: true, groups: ['web'], vars: { env: 'dev' } });
  assert.equal(program.berthSsh as unknown, { key: `${process.env.HOME}/.ssh/id_ed25519` });
});

test.run();
