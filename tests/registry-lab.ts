// Test helper for the registry tests: a lab whose hosts run Docker Engine (the `runtime` module)
// and have the lab/busybox image, an etcd (Debian's etcd-server) on the lab network's gateway
// when asked, busybox httpd "web" containers that serve their own hostname, and ways to apply
// playbooks, run commands on hosts over OpenSSH and time things by the hosts' clock (the same
// kernel clock as this process: lab hosts are containers).
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { networkName } from '../providers/lab/names.js';
import type { HostInit } from '../providers/lab/recipe.js';
import { startEtcd } from './helpers/etcd.js';
import { sshArgs, sshLab, startLab, type LabHost, type TestLab } from './helpers/lab.js';

const pexec = promisify(execFile);
const root = new URL('..', import.meta.url).pathname;
const log = (line: string) => void process.stderr.write(`  [registry-lab] ${line}\n`);

export type Ev = Record<string, any> & { type: string };

export interface Applied {
  code: number;
  events: Ev[];
  stderr: string;
  /** task-end events of a host, in order. */
  ends(host: string): Ev[];
}

export interface RegistryLab {
  lab: TestLab;
  hosts: LabHost[];
  /** The lab network's gateway: this machine, as the hosts reach it. */
  gateway: string;
  /** http://GATEWAY:PORT of the etcd started for the lab, when asked for. */
  etcdUrl?: string;
  ssh(host: LabHost, cmd: string, timeoutMs?: number): Promise<{ code: number; stdout: string; stderr: string }>;
  /** Starts a command on a host and returns its process (for loops that run while the test acts). */
  sshSpawn(host: LabHost, cmd: string): ChildProcess;
  apply(name: string, yaml: string, flags?: string[]): Promise<Applied>;
  /** `berth services ARGS -i <lab inventory>`. */
  services(args: string[]): Promise<{ code: number; stdout: string; stderr: string }>;
  /** A busybox httpd serving its hostname ("<host>-<name>") at / and, when healthy, "ok" at /healthz. */
  runWeb(host: LabHost, name: string, hostPort: number, healthy?: boolean): Promise<void>;
  down(): Promise<void>;
}

/** `init: 'systemd'`: hosts that boot systemd, where the engine and the watcher are units. */
export async function registryLab(name: string, hosts: number, opts: { etcd?: boolean; init?: HostInit } = {}): Promise<RegistryLab> {
  const lab = await startLab({ name, hosts, init: opts.init });
  let etcd: { url: string; stop: () => void } | undefined;
  const down = async () => {
    etcd?.stop();
    await lab.down();
  };
  try {
    const ssh = (host: LabHost, cmd: string, timeoutMs = 120_000) => sshLab(lab, host, cmd, { timeoutMs });
    const node = (argv: string[], outFile?: string) =>
      new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
        const child = spawn(process.execPath, argv, { cwd: root, env: { ...process.env, CI: 'true' }, stdio: ['ignore', 'pipe', 'pipe'] });
        let stdout = '';
        let stderr = '';
        // Kept as it comes: when a run hangs, the file shows how far it got.
        child.stdout.on('data', (d) => {
          stdout += d;
          if (outFile) appendFileSync(outFile, d);
        });
        child.stderr.on('data', (d) => (stderr += d));
        child.on('close', (code) => resolve({ code: code ?? 1, stdout, stderr }));
      });
    const apply = async (pbName: string, yaml: string, flags: string[] = []): Promise<Applied> => {
      const pb = join(lab.dir, `${pbName}.yml`);
      writeFileSync(pb, yaml);
      const r = await node([join(root, 'bin/berth.js'), 'apply', pb, '-i', lab.inventoryPath, '--json', ...flags], join(lab.dir, `${pbName}.out`));
      const events = r.stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Ev);
      return { code: r.code, events, stderr: r.stderr, ends: (host) => events.filter((e) => e.type === 'task-end' && e.host === host) };
    };
    const gwOut = await pexec('docker', ['network', 'inspect', '--format', '{{range .IPAM.Config}}{{.Gateway}}{{end}}', networkName(lab.name)]);
    const gateway = gwOut.stdout.trim();
    const engine = await apply(
      'engine',
      `name: engine
plays:
  - hosts: all
    tasks:
      - runtime: { repo: "{{berth_apt_repo}}" }
      - package: { name: busybox-static, repo: "{{berth_apt_repo}}", update_cache: true, cache_valid_time: 1h }
      - shell:
          cmd: >-
            mkdir -p /tmp/bb && cp /bin/busybox /tmp/bb/ &&
            printf 'FROM scratch\\nCOPY busybox /bin/busybox\\nRUN ["/bin/busybox","--install","-s","/bin"]\\n' > /tmp/bb/Dockerfile &&
            DOCKER_BUILDKIT=0 docker build -q -t lab/busybox /tmp/bb
`,
    );
    if (engine.code !== 0) throw new Error(`preparing the engine failed (exit ${engine.code}): ${engine.stderr}\n${JSON.stringify(engine.events.filter((e) => e.status === 'failed'))}`);
    if (opts.etcd) etcd = await startEtcd(gateway, 'berth-test', log);
    return {
      lab,
      hosts: lab.hosts,
      gateway,
      etcdUrl: etcd?.url,
      ssh,
      sshSpawn: (host, cmd) => spawn('ssh', sshArgs(lab, host, cmd), { stdio: ['ignore', 'pipe', 'pipe'] }),
      apply,
      services: (args) => node(['--import', 'tsx', join(root, 'tests/registry-cli.ts'), 'services', ...args, '-i', lab.inventoryPath]),
      async runWeb(host, cname, hostPort, healthy = true) {
        const script = `mkdir -p /www && hostname > /www/index.html && ${healthy ? 'echo ok > /www/healthz && ' : ''}exec httpd -f -p 80 -h /www`;
        const r = await ssh(host, `docker rm -f ${cname} >/dev/null 2>&1; docker run -d --name ${cname} --hostname ${host.name}-${cname} -p ${hostPort}:80 lab/busybox sh -c '${script}'`);
        if (r.code !== 0) throw new Error(`docker run ${cname} on ${host.name}: ${r.stderr}`);
      },
      down,
    };
  } catch (e) {
    await down().catch(() => {});
    throw e;
  }
}

/** Counts of each body among `n` requests made on the host to URL (each a new connection). */
export async function requestCounts(rl: RegistryLab, host: LabHost, url: string, n: number): Promise<Record<string, number>> {
  const r = await rl.ssh(host, `for i in $(seq 1 ${n}); do curl -s -m 2 ${url} || echo '(failed)'; done`, 300_000);
  const counts: Record<string, number> = {};
  for (const line of r.stdout.split('\n').map((l) => l.trim()).filter(Boolean)) counts[line] = (counts[line] ?? 0) + 1;
  return counts;
}

/**
 * A request every ~50 ms on the host while the test acts; each line "<epoch ms> <curl's exit code>
 * <body>", the body "(failed)" when curl failed (7: refused, 28: timed out, 52/56: cut). Stop it
 * with stop(), which returns the lines.
 */
export function requestLoop(rl: RegistryLab, host: LabHost, url: string, maxSeconds: number): { stop(): Promise<Array<{ t: number; rc: number; body: string }>> } {
  const child = rl.sshSpawn(host, `end=$(( $(date +%s) + ${maxSeconds} )); while [ $(date +%s) -lt $end ]; do b=$(curl -s -m 1 ${url}); rc=$?; [ $rc -eq 0 ] || b='(failed)'; echo "$(date +%s%3N) $rc $b"; sleep 0.05; done`);
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  const closed = new Promise((r) => child.on('close', r));
  return {
    async stop() {
      child.kill('SIGTERM');
      await closed;
      return out
        .split('\n')
        .map((l) => /^(\d+) (\d+) ?(.*)$/.exec(l.trim()))
        .filter((m): m is RegExpExecArray => m !== null)
        .map((m) => ({ t: Number(m[1]), rc: Number(m[2]), body: m[3] }));
    },
  };
}
