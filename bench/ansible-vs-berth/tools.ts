// The three controllers compared, each set up the way its users would tune it for speed:
// berth as shipped; Ansible with pipelining, ControlPersist and forks = N; Ansible with
// Mitogen's strategy on top. Each tool says how to run it on n hosts and reads back, from its
// own output, how many tasks changed: a run that did not do the work is not a figure.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ansibleInventory, berthInventory, type Fleet } from './fleet.js';
import type { Measured, RunSpec } from './measure.js';

const repo = new URL('../../', import.meta.url).pathname;
export const workload = new URL('./workload/', import.meta.url).pathname;
/** Debian's ansible-mitogen puts its strategies here (`dpkg -L ansible-mitogen`). */
const MITOGEN_STRATEGIES = '/usr/lib/python3/dist-packages/ansible_mitogen/plugins/strategy';
const RUN_TIMEOUT_MS = 15 * 60_000;

export type ToolId = 'berth' | 'mitogen' | 'ansible';

export interface Outcome {
  /** Tasks reported changed, summed over hosts. */
  changed: number;
  /** Hosts that appear in the tool's recap as reached and not failed. */
  okHosts: number;
  /** berth only: where the time went, from its --json events. */
  stages?: BerthStages;
}

export interface BerthStages {
  /** Slowest host's SSH connect and agent start, and the run as berth itself timed it. */
  connectMaxMs: number;
  agentMaxMs: number;
  runMs: number;
  uploadedBytes: number;
}

export interface Tool {
  id: ToolId;
  label: string;
  spec(f: Fleet, n: number, work: string, runId: string): RunSpec;
  outcome(m: Measured): Outcome;
}

export const berth: Tool = {
  id: 'berth',
  label: 'berth',
  spec(f, n, work) {
    const inv = berthInventory(f, n, join(work, `berth-${n}.yml`));
    return {
      argv: [process.execPath, join(repo, 'bin/berth.js'), 'apply', join(workload, 'berth.yml'), '-i', inv, '--json', '--forks', String(n)],
      cwd: repo,
      scratch: work,
      timeoutMs: RUN_TIMEOUT_MS,
    };
  },
  outcome(m) {
    const events = m.stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, any>);
    const recap = (events.find((e) => e.type === 'recap')?.hosts ?? {}) as Record<string, { changed: number; failed: number; unreachable: boolean }>;
    const ready = events.filter((e) => e.type === 'host-ready');
    return {
      changed: Object.values(recap).reduce((s, r) => s + r.changed, 0),
      okHosts: Object.values(recap).filter((r) => !r.failed && !r.unreachable).length,
      stages: {
        connectMaxMs: Math.max(0, ...ready.map((e) => e.connectMs as number)),
        agentMaxMs: Math.max(0, ...ready.map((e) => e.agentMs as number)),
        runMs: (events.find((e) => e.type === 'run-end')?.durationMs as number) ?? NaN,
        uploadedBytes: ready.reduce((s, e) => s + (e.uploadedBytes as number), 0),
      },
    };
  },
};

function ansibleTool(id: 'ansible' | 'mitogen', label: string): Tool {
  return {
    id,
    label,
    spec(f, n, work, runId) {
      const inv = ansibleInventory(f, n, join(work, `ansible-${n}.ini`));
      // Each run gets its own ControlPath folder: its masters are found (and stopped) by it,
      // and no run starts with connections a previous run left open (berth cannot either).
      const cp = join(work, 'cp', runId);
      mkdirSync(cp, { recursive: true });
      const cfg = join(work, `${id}-${n}.cfg`);
      writeFileSync(
        cfg,
        [
          '[defaults]',
          `forks = ${n}`,
          'host_key_checking = True',
          'gathering = explicit',
          'retry_files_enabled = False',
          'interpreter_python = /usr/bin/python3',
          'nocolor = True',
          ...(id === 'mitogen' ? ['strategy = mitogen_linear', `strategy_plugins = ${MITOGEN_STRATEGIES}`] : []),
          '[ssh_connection]',
          'pipelining = True',
          // Ansible's default ssh_args without -C: compression only costs CPU on loopback.
          `ssh_args = -o ControlMaster=auto -o ControlPersist=60s -o UserKnownHostsFile=${f.knownHosts} -o StrictHostKeyChecking=yes`,
          `control_path_dir = ${cp}`,
          '',
        ].join('\n'),
      );
      return {
        argv: ['/usr/bin/ansible-playbook', '-i', inv, join(workload, 'ansible.yml')],
        cwd: workload,
        env: { ANSIBLE_CONFIG: cfg, ANSIBLE_NOCOLOR: '1', ANSIBLE_LOCAL_TEMP: join(work, 'ansible-local') },
        marker: cp,
        scratch: work,
        timeoutMs: RUN_TIMEOUT_MS,
      };
    },
    outcome(m) {
      let changed = 0;
      let okHosts = 0;
      for (const r of m.stdout.matchAll(/^(\S+)\s+:\s+ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)/gm)) {
        changed += Number(r[3]);
        if (r[4] === '0' && r[5] === '0') okHosts += 1;
      }
      return { changed, okHosts };
    },
  };
}

export const ansible = ansibleTool('ansible', 'Ansible');
export const mitogen = ansibleTool('mitogen', 'Ansible+Mitogen');
export const TOOLS: Tool[] = [berth, mitogen, ansible];
