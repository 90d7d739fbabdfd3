// `berth lab up|down|status`: a local fleet of machine containers for tests and demos. The
// implementation (providers/lab) loads only when a lab command runs.
import { InvalidArgumentError, type Command } from 'commander';
import { BerthFailure, type Result } from '../../controller/errors.js';
import type { HostNode } from '../../providers/lab/host-node.js';
import type { LabStatus } from '../../providers/lab/lab.js';
import type { HostInit } from '../../providers/lab/recipe.js';
import { action } from '../run-action.js';

interface NameOpts { name: string }

const log = (line: string): void => void process.stderr.write(`berth lab: ${line}\n`);

function must<T>(r: Result<T>): T {
  if (!r.ok) throw new BerthFailure([r.error]);
  return r.value;
}

function count(v: string): number {
  const n = Number(v);
  if (!/^\d+$/.test(v) || n < 1) throw new InvalidArgumentError('expected a whole number of hosts, 1 or more');
  return n;
}

// The list lives in providers/lab/recipe.ts, which this file must not load before a lab command runs.
const INITS: readonly HostInit[] = ['tini', 'systemd'];
function init(v: string): HostInit {
  if (!(INITS as readonly string[]).includes(v)) throw new InvalidArgumentError(`expected ${INITS.join(' or ')}`);
  return v as HostInit;
}

const NODES: readonly HostNode[] = ['none', 'debian'];
function node(v: string): HostNode {
  if (!(NODES as readonly string[]).includes(v)) throw new InvalidArgumentError(`expected ${NODES.join(' or ')}`);
  return v as HostNode;
}

function render(s: LabStatus): string {
  if (!s.exists) return `lab ${s.name} does not exist (start it with \`berth lab up --name ${s.name}\`)\n`;
  const rows = s.hosts.map((h) => [h.name, h.state, h.port ? `${h.address}:${h.port}` : '-', h.ip ?? '-', h.container]);
  const head = ['HOST', 'STATE', 'SSH', 'LAB IP', 'CONTAINER'];
  const width = head.map((_, i) => Math.max(head[i]!.length, ...rows.map((r) => r[i]!.length)));
  const line = (r: string[]) => '  ' + r.map((c, i) => c.padEnd(width[i]!)).join('  ').trimEnd();
  const notes = [s.init === 'systemd' ? 'systemd hosts' : '', s.runtime ? `runtime ${s.runtime}` : ''].filter(Boolean).join(', ');
  const out = [`lab ${s.name}: ${s.hosts.length} host${s.hosts.length === 1 ? '' : 's'} on network ${s.network}${notes ? ` (${notes})` : ''}`, line(head), ...rows.map(line)];
  if (s.inventoryPath) {
    out.push(`inventory: ${s.inventoryPath}`);
    const first = s.hosts.find((h) => h.port);
    if (first) {
      const dir = s.inventoryPath.replace(/\/inventory\.yml$/, '');
      out.push(`ssh:       ssh -i ${dir}/id_ed25519 -o UserKnownHostsFile=${dir}/known_hosts -p ${first.port} root@${first.address}`);
    }
  } else {
    out.push(`its state (key, inventory) is not in ${s.dir}: a test made it, or the state was lost; \`berth lab up --name ${s.name}\` replaces the hosts with ones for a new key`);
  }
  return out.join('\n') + '\n';
}

export function registerLab(program: Command): void {
  const lab = program.command('lab').description('a local fleet of machine containers (sshd, room for their own Docker engine) for tests and demos');

  lab
    .command('up')
    .description('start a lab of N hosts on the local Docker engine, or resize a running one')
    .option('--hosts <n>', 'number of hosts (default: the current number, or 3 for a new lab)', count)
    .option('--init <init>', "the hosts' PID 1: tini (sshd only, the default for a new lab) or systemd (booted like a Debian server; `docker restart` is a reboot); default: what the lab runs now", init)
    .option('--node <node>', "Node on the hosts: none (berth pushes its own runtime; the default) or debian (Debian's nodejs, Node 18, installed at start: the agent runs on it)", node)
    .option('--name <lab>', 'lab name', 'default')
    .option('--json', 'print the lab status as JSON')
    .action(
      action(async (opts: NameOpts & { hosts?: number; init?: HostInit; node?: HostNode; json?: boolean }) => {
        const { labUp, labStatus } = await import('../../providers/lab/lab.js');
        const up = must(await labUp({ name: opts.name, hosts: opts.hosts, init: opts.init, node: opts.node, log }));
        const status = must(await labStatus({ name: opts.name }));
        if (opts.json) return void process.stdout.write(JSON.stringify(status, null, 2) + '\n');
        if (!up.added.length && !up.removed.length && !up.restarted.length) log(`lab ${opts.name} already runs ${up.state.hosts.length} host${up.state.hosts.length === 1 ? '' : 's'}; nothing to do`);
        process.stdout.write(render(status));
      }),
    );

  lab
    .command('down')
    .description('remove a lab: its hosts with their volumes, its network and its state (the image cache stays)')
    .option('--name <lab>', 'lab name', 'default')
    .action(
      action(async (opts: NameOpts) => {
        const { labDown } = await import('../../providers/lab/lab.js');
        const r = must(await labDown({ name: opts.name, log }));
        process.stdout.write(r.existed ? `lab ${opts.name} removed (${r.containers} host${r.containers === 1 ? '' : 's'})\n` : `lab ${opts.name} does not exist; nothing to remove\n`);
      }),
    );

  lab
    .command('status')
    .description("show a lab's hosts, their SSH addresses and states")
    .option('--name <lab>', 'lab name', 'default')
    .option('--json', 'print JSON')
    .action(
      action(async (opts: NameOpts & { json?: boolean }) => {
        const { labStatus } = await import('../../providers/lab/lab.js');
        const s = must(await labStatus({ name: opts.name }));
        process.stdout.write(opts.json ? JSON.stringify(s, null, 2) + '\n' : render(s));
      }),
    );
}
