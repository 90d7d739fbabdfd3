// berth against Ansible (pipelining + ControlPersist, forks = N) and Ansible+Mitogen on the
// same 20-task workload, cold (hosts as on first contact) and no-op (nothing to change), on
// 1, 10, 50 and 100 loopback hosts (bench/fleet). Prints figures, never fails on time, and
// writes the tables with the machine's description into bench/README.md.
//
//   node --import tsx bench/ansible-vs-berth/run.ts            # N = 1, 10, 50, 100; ~20 min budget
//   node --import tsx bench/ansible-vs-berth/run.ts --quick    # N = 1, 10; up to 3 runs; ~15 min budget
//   options: --sizes 1,10 --runs 3 --tools berth,mitogen --budget-min 20 --no-op-only --keep-fleet --no-write
//
// Runs are interleaved (berth, Mitogen, Ansible, then again) so a burst of load from elsewhere
// spreads over every tool instead of landing on one. Each cell is the median of its runs.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { fingerprint, fleetDown, fleetUp, resetHosts, sshdActivity, sshdLogSize } from './fleet.js';
import { measure, stopCurrent, stopLeftovers } from './measure.js';
import { loadNow, machine, median, tables, writeReadme, type Phase, type Sample } from './report.js';
import { berth, TOOLS, type Tool, type ToolId } from './tools.js';

const TASKS = 20;
const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean' },
    sizes: { type: 'string' },
    runs: { type: 'string' },
    tools: { type: 'string' },
    'budget-min': { type: 'string' },
    'keep-fleet': { type: 'boolean' },
    'no-write': { type: 'boolean' },
    'no-op-only': { type: 'boolean' },
  },
});
const sizes = (args.sizes ?? (args.quick ? '1,10' : '1,10,50,100')).split(',').map(Number);
const RUNS = Number(args.runs ?? 3);
const budgetMs = Number(args['budget-min'] ?? (args.quick ? 15 : 20)) * 60_000;
// --no-op-only: the hosts are converged once (by berth, not measured), then only no-op runs.
const PHASES: Phase[] = args['no-op-only'] ? ['no-op'] : ['cold', 'no-op'];
const tools = TOOLS.filter((t) => !args.tools || args.tools.split(',').includes(t.id));
const readme = new URL('../README.md', import.meta.url).pathname;

const started = Date.now();
const loadAtStart = loadNow();
const work = mkdtempSync(join(tmpdir(), 'bvb-'));
const fleet = fleetUp(Math.max(...sizes));
const fleetUid = Number(execFileSync('id', ['-u', fleet.user], { encoding: 'utf8' }));
const samples: Sample[] = [];
// Ctrl-C or a timeout from outside: stop the run in progress and its SSH masters, stop the
// fleet (unless kept) and remove the work folder, then leave.
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.once(sig, () => {
    stopCurrent();
    stopLeftovers(work);
    if (!args['keep-fleet']) fleetDown();
    rmSync(work, { recursive: true, force: true });
    process.exit(130);
  });
}
const skipped: string[] = [];
const log = (s: string) => process.stderr.write(`[bench ${((Date.now() - started) / 1000).toFixed(0).padStart(4)} s] ${s}\n`);

async function once(tool: Tool, n: number, phase: Phase, runId: string): Promise<Sample> {
  if (phase === 'cold') resetHosts(fleet, n);
  const spec = tool.spec(fleet, n, work, runId);
  const logFrom = sshdLogSize(fleet, fleet.hosts[0]);
  const m = await measure({ ...spec, hostUid: fleetUid, hostPattern: tool.id === 'mitogen' ? '(mitogen:' : undefined, cpuacct: fleet.cpuacct || undefined });
  if (spec.marker) stopLeftovers(spec.marker);
  const o = tool.outcome(m);
  // Sessions close just after the controller exits; give sshd a moment to log them.
  await new Promise((r) => setTimeout(r, 300));
  const ssh = sshdActivity(fleet, fleet.hosts[0], logFrom);
  const want = phase === 'cold' ? TASKS * n : 0;
  const problems: string[] = [];
  if (m.code !== 0) problems.push(`exit ${m.code}: ${(m.stderr || m.stdout).trim().split('\n').slice(-3).join(' | ').slice(0, 300)}`);
  if (o.changed !== want) problems.push(`${o.changed} tasks changed, expected ${want}`);
  if (o.okHosts !== n) problems.push(`${o.okHosts} of ${n} hosts ok`);
  if (tool.id === 'mitogen' && !m.hostSeen) problems.push('no Mitogen process seen on the hosts: the strategy plugin was not in use');
  const s: Sample = { tool: tool.id, n, phase, wallMs: m.wallMs, cpuS: m.cpuS, hostCpuS: m.hostCpuS, maxRssMb: m.maxRssMb, treePssMb: m.treePssMb, logins: ssh.logins, sessions: ssh.sessions, problem: problems.join('; '), stages: o.stages };
  log(`${tool.label.padEnd(15)} n=${String(n).padEnd(3)} ${phase.padEnd(5)} ${(m.wallMs / 1000).toFixed(2)} s, cpu ${m.cpuS.toFixed(2)} s + hosts ${m.hostCpuS.toFixed(2)} s, ${Math.round(m.treePssMb)} MB${s.problem ? `  ⚠ ${s.problem}` : ''}`);
  return s;
}

/**
 * Expected wall time of a cold + no-op pair of a tool at n. From two smaller sizes: the line
 * through them (a fixed cost plus a cost per host), 10 % worse. From one: the square root of
 * the ratio, since at 1 host fixed costs dominate (Ansible's start-up) and a line would
 * overestimate 10 hosts several times over.
 */
function estimateMs(tool: ToolId, n: number): number {
  const pair = (m: number) => PHASES.reduce((sum, p) => sum + median(samples.filter((s) => s.tool === tool && s.n === m && s.phase === p).map((s) => s.wallMs)), 0);
  const known = [...new Set(samples.filter((s) => s.tool === tool && s.n < n).map((s) => s.n))].sort((a, b) => a - b);
  if (known.length === 0) return 0;
  const m1 = known[known.length - 1];
  if (known.length === 1) return pair(m1) * Math.sqrt(n / m1);
  const m0 = known[known.length - 2];
  const slope = Math.max(0, (pair(m1) - pair(m0)) / (m1 - m0));
  return (pair(m1) + slope * (n - m1)) * 1.1;
}

try {
  const fingerprints = new Map<string, string>();
  for (const n of sizes) {
    // The budget keeps the whole benchmark bounded. Each size gets a share of what is left
    // (larger sizes more: N = 50 is the figure the goal is about). Tools are admitted in order
    // of importance (berth always, then Mitogen, the fastest peer, then plain Ansible) while one
    // cold + no-op pair of each is expected to fit the share; more runs are added while they
    // fit. Whatever was left out is listed under the tables.
    const rest = sizes.filter((m) => m >= n);
    const share = (m: number) => (m >= 100 ? 3 : m >= 50 ? 5 : m >= 10 ? 3 : 1);
    const allotted = ((budgetMs - (Date.now() - started)) * share(n)) / rest.reduce((x, m) => x + share(m), 0);
    const deadline = Date.now() + allotted;
    const active: Tool[] = [];
    let planned = 0;
    for (const t of tools) {
      const est = estimateMs(t.id, n);
      if (t.id === 'berth' || planned + est <= allotted) {
        active.push(t);
        planned += est;
      } else {
        skipped.push(`${t.label} on ${n} hosts: one ${PHASES.join(' + ')} run was expected to take about ${Math.round(est / 1000)} s, which with the ${Math.round(planned / 1000)} s of the tools before it exceeds this size's share of the ${Math.round(budgetMs / 60_000)}-minute budget (${Math.round(allotted / 1000)} s)`);
      }
    }
    log(`${n} hosts: up to ${RUNS} run(s) of ${active.map((t) => t.label).join(', ')} within ${Math.round(allotted / 1000)} s`);
    const lastPair = new Map<ToolId, number>();
    if (!PHASES.includes('cold')) await once(berth, n, 'cold', `converge-${n}`);
    for (let r = 0; r < RUNS; r++) {
      for (const tool of [...TOOLS].filter((t) => active.includes(t))) {
        // berth, the subject and the cheapest by far, always gets every run.
        if (r > 0 && tool.id !== 'berth' && Date.now() + (lastPair.get(tool.id) ?? 0) > deadline) continue;
        const t0 = Date.now();
        for (const phase of PHASES) {
          samples.push(await once(tool, n, phase, `${tool.id}-${n}-${r}-${phase}`));
          // Every tool must leave the first host in the same state: same work, same bytes.
          if (r === 0) fingerprints.set(`${tool.label} (${n} hosts, ${phase})`, fingerprint(fleet.hosts[0]));
        }
        lastPair.set(tool.id, Date.now() - t0);
      }
    }
  }
  const distinct = new Set(fingerprints.values());
  const sameResult = distinct.size === 1
    ? `every tool left the same files, modes, links and bytes on h1 after every run (fingerprint ${[...distinct][0]})`
    : `⚠ the tools left different results on h1: ${[...fingerprints].map(([k, v]) => `${k}: ${v}`).join(', ')}`;

  const lines = [
    `### berth vs Ansible vs Ansible+Mitogen: 20-task workload on loopback hosts${args.quick ? ' (--quick)' : ''}`,
    '',
    `Run ${new Date(started).toISOString().slice(0, 16).replace('T', ' ')} UTC, ${((Date.now() - started) / 60_000).toFixed(1)} minutes in all, by \`node --import tsx bench/ansible-vs-berth/run.ts${process.argv.slice(2).length ? ' ' + process.argv.slice(2).join(' ') : ''}\`.`,
    '',
    ...machine(),
    `- at start: ${loadAtStart}`,
    `- at end: ${loadNow()}`,
    `- hosts: bench/fleet (one sshd per host on 127.0.1.x, user \`fleet\` with stock dotfiles, host's own Node ${process.version} and /usr/bin/python3); ${sameResult}`,
    '',
    ...tables(samples, skipped),
  ];
  console.log('\n' + lines.join('\n'));
  if (!args['no-write']) {
    writeReadme(readme, lines);
    log(`tables written to ${readme}`);
  }
} finally {
  if (!args['keep-fleet']) fleetDown();
  rmSync(work, { recursive: true, force: true });
}
