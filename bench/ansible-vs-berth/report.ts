// Turns samples into the tables of bench/README.md: medians, ratios side by side, and the
// machine they were taken on (a 2-core machine shared with other work gives noisy figures:
// the load average and CPU pressure at start and end say how noisy).
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, release, totalmem } from 'node:os';
import type { BerthStages, ToolId } from './tools.js';

export type Phase = 'cold' | 'no-op';

export interface Sample {
  tool: ToolId;
  n: number;
  phase: Phase;
  wallMs: number;
  cpuS: number;
  hostCpuS: number;
  maxRssMb: number;
  treePssMb: number;
  /** SSH logins and sessions (exec channels) on the first host, from its sshd log. */
  logins: number;
  sessions: number;
  /** Empty when the run did what it should; otherwise what was wrong (shown under the table). */
  problem: string;
  stages?: BerthStages;
}

export const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

const cpuPressure = (): string => {
  try {
    return /avg60=([\d.]+)/.exec(readFileSync('/proc/pressure/cpu', 'utf8'))?.[1] + '%';
  } catch {
    return 'n/a';
  }
};

export function loadNow(): string {
  return `load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}, CPU pressure (some, avg60) ${cpuPressure()}`;
}

// ssh -V answers on stderr: look at both streams.
const version = (argv: string[], pick: RegExp): string => {
  const r = spawnSync(argv[0], argv.slice(1), { encoding: 'utf8' });
  return pick.exec(`${r.stdout ?? ''}${r.stderr ?? ''}`)?.[1] ?? '?';
};

export function machine(): string[] {
  const c = cpus();
  return [
    `- CPU: ${c.length} × ${c[0]?.model.trim() ?? '?'}; memory ${(totalmem() / 2 ** 30).toFixed(1)} GiB; kernel ${release()}`,
    `- node ${process.version}; ansible-core ${version(['/usr/bin/ansible-playbook', '--version'], /core ([\d.]+)/)}; ` +
      `ansible-mitogen ${version(['dpkg-query', '-W', '-f=${Version}', 'ansible-mitogen'], /^(\S+)/)}; ` +
      `${version(['ssh', '-V'], /(OpenSSH_[\w.]+)/)}`,
  ];
}

const secs = (ms: number) => (Number.isNaN(ms) ? '–' : ms < 10_000 ? `${(ms / 1000).toFixed(2)} s` : `${(ms / 1000).toFixed(1)} s`);
const ratio = (a: number, b: number) => (Number.isNaN(a) || Number.isNaN(b) || b === 0 ? '–' : `${(a / b).toFixed(1)}×`);
const mb = (x: number) => (Number.isNaN(x) ? '–' : `${Math.round(x)} MB`);

function table(head: string[], rows: string[][]): string[] {
  return [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`, ...rows.map((r) => `| ${r.join(' | ')} |`)];
}

const TOOL_LABEL: Record<ToolId, string> = { berth: 'berth', mitogen: 'Ansible+Mitogen', ansible: 'Ansible' };

/** The tables for all samples: wall time, controller memory, controller CPU, berth's stages. */
export function tables(samples: Sample[], skipped: string[]): string[] {
  const ns = [...new Set(samples.map((s) => s.n))].sort((a, b) => a - b);
  const cells = (n: number, phase: Phase, tool: ToolId) => samples.filter((s) => s.n === n && s.phase === phase && s.tool === tool);
  const med = (n: number, phase: Phase, tool: ToolId, f: (s: Sample) => number) => median(cells(n, phase, tool).map(f));
  const runs = (n: number, phase: Phase, tool: ToolId) => cells(n, phase, tool).length;
  const flag = (n: number, phase: Phase, tool: ToolId) => (cells(n, phase, tool).some((s) => s.problem) ? ' ⚠' : '');
  const measured = (n: number, p: Phase) => samples.some((s) => s.n === n && s.phase === p);
  const rows = (f: (n: number, phase: Phase) => string[]) => ns.flatMap((n) => (['cold', 'no-op'] as Phase[]).filter((p) => measured(n, p)).map((p) => [String(n), p, ...f(n, p)]));
  const tools: ToolId[] = ['berth', 'mitogen', 'ansible'];

  const out: string[] = [];
  out.push('**Wall time** (median; runs in parentheses; ratios: how many times longer than berth)', '');
  out.push(
    ...table(
      ['hosts', 'run', ...tools.map((t) => TOOL_LABEL[t]), 'Mitogen ÷ berth', 'Ansible ÷ berth'],
      rows((n, p) => [
        ...tools.map((t) => (runs(n, p, t) ? `${secs(med(n, p, t, (s) => s.wallMs))} (${runs(n, p, t)})${flag(n, p, t)}` : '–')),
        ratio(med(n, p, 'mitogen', (s) => s.wallMs), med(n, p, 'berth', (s) => s.wallMs)),
        ratio(med(n, p, 'ansible', (s) => s.wallMs), med(n, p, 'berth', (s) => s.wallMs)),
      ]),
    ),
  );
  out.push('', '**Controller memory**: peak summed PSS of every controller-side process (largest single process\'s peak RSS in parentheses)', '');
  out.push(
    ...table(
      ['hosts', 'run', ...tools.map((t) => TOOL_LABEL[t]), 'Mitogen ÷ berth', 'Ansible ÷ berth'],
      rows((n, p) => [
        ...tools.map((t) => (runs(n, p, t) ? `${mb(med(n, p, t, (s) => s.treePssMb))} (${mb(med(n, p, t, (s) => s.maxRssMb))})` : '–')),
        ratio(med(n, p, 'mitogen', (s) => s.treePssMb), med(n, p, 'berth', (s) => s.treePssMb)),
        ratio(med(n, p, 'ansible', (s) => s.treePssMb), med(n, p, 'berth', (s) => s.treePssMb)),
      ]),
    ),
  );
  out.push(
    '',
    '**CPU time**: controller (user + sys of it and the children it waited for) + hosts (every fleet sshd, shell, agent and Python, from the fleet\'s cpuacct cgroup). ' +
      'Less sensitive to a busy machine than wall time; on this bench the hosts share the controller\'s cores, so host CPU also costs wall time here.',
    '',
  );
  const cpu = (n: number, p: Phase, t: ToolId) => med(n, p, t, (s) => s.cpuS + (Number.isNaN(s.hostCpuS) ? 0 : s.hostCpuS));
  out.push(
    ...table(
      ['hosts', 'run', ...tools.map((t) => TOOL_LABEL[t]), 'Mitogen ÷ berth', 'Ansible ÷ berth'],
      rows((n, p) => [
        ...tools.map((t) => (runs(n, p, t) ? `${med(n, p, t, (s) => s.cpuS).toFixed(1)} + ${med(n, p, t, (s) => s.hostCpuS).toFixed(1)} s` : '–')),
        ratio(cpu(n, p, 'mitogen'), cpu(n, p, 'berth')),
        ratio(cpu(n, p, 'ansible'), cpu(n, p, 'berth')),
      ]),
    ),
  );
  out.push('', '**Where berth\'s time goes** (median; from its `--json` events: slowest host\'s SSH connect and agent start, the run as berth timed it, and process start-up + exit = wall − run)', '');
  out.push(
    ...table(
      ['hosts', 'run', 'wall', 'connect (slowest)', 'agent start (slowest)', 'run', 'start-up + exit', 'uploaded'],
      rows((n, p) => {
        const st = (f: (s: BerthStages) => number) => med(n, p, 'berth', (s) => (s.stages ? f(s.stages) : NaN));
        const wall = med(n, p, 'berth', (s) => s.wallMs);
        const runMs = st((s) => s.runMs);
        const up = st((s) => s.uploadedBytes);
        return [secs(wall), secs(st((s) => s.connectMaxMs)), secs(st((s) => s.agentMaxMs)), secs(runMs), secs(wall - runMs), Number.isNaN(up) ? '–' : `${Math.round(up / 1024)} KiB`];
      }),
    ),
  );
  out.push('', '**SSH work per host** (median, on h1, from its sshd log): logins (SSH connections) / sessions (commands run, one exec channel each; each one is at least a round trip)', '');
  out.push(
    ...table(
      ['hosts', 'run', ...tools.map((t) => TOOL_LABEL[t])],
      rows((n, p) => tools.map((t) => (runs(n, p, t) ? `${med(n, p, t, (s) => s.logins)} / ${med(n, p, t, (s) => s.sessions)}` : '–'))),
    ),
  );
  const problems = samples.filter((s) => s.problem);
  if (problems.length || skipped.length) out.push('');
  for (const s of problems) out.push(`- ⚠ ${TOOL_LABEL[s.tool]}, ${s.n} hosts, ${s.phase}: ${s.problem}`);
  for (const s of skipped) out.push(`- not run: ${s}`);
  return out;
}

const BEGIN = '<!-- ansible-vs-berth:begin (written by bench/ansible-vs-berth/run.ts) -->';
const END = '<!-- ansible-vs-berth:end -->';

/** Replaces the benchmark's section of bench/README.md, leaving the rest as written. */
export function writeReadme(path: string, lines: string[]): void {
  const text = existsSync(path) ? readFileSync(path, 'utf8') : `# Benchmarks\n\n${BEGIN}\n${END}\n`;
  const a = text.indexOf(BEGIN);
  const b = text.indexOf(END);
  const section = [BEGIN, ...lines, END].join('\n');
  writeFileSync(path, a >= 0 && b > a ? text.slice(0, a) + section + text.slice(b + END.length) : `${text.trimEnd()}\n\n${section}\n`);
}
