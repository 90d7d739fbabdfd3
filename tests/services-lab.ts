// Test helper for the services tests: a lab whose hosts have a running Docker Engine and the
// lab/busybox image, plus ways to apply playbooks and look at the engine directly over ssh.
// The engine is prepared by berth itself in prepareEngine(): package + shell tasks on hosts
// without an init, the `runtime` module (docker.service) on hosts that boot systemd.
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { HostInit } from '../providers/lab/recipe.js';
import { sshLab, startLab, type LabHost, type TestLab } from './helpers/lab.js';

const root = new URL('..', import.meta.url).pathname;

export type Ev = Record<string, any> & { type: string };

export interface Applied {
  code: number;
  events: Ev[];
  stderr: string;
  /** task-end events by host, then by task name. */
  tasks(host: string): Record<string, Ev>;
  /** Summaries of every change of a task on a host: `recreate web.1 [config changed: environment]`. */
  changes(host: string, task: string): string[];
}

export interface ServicesLab {
  lab: TestLab;
  hosts: LabHost[];
  /** A command on a host over OpenSSH (not berth's own connection): stdout, trimmed. */
  ssh(host: LabHost, cmd: string): Promise<{ code: number; stdout: string; stderr: string }>;
  /** `docker inspect` of a container, parsed. */
  inspect(host: LabHost, name: string): Promise<any>;
  /** Names and ids of every container on a host, sorted. */
  containers(host: LabHost): Promise<string[]>;
  /** Writes a file next to the lab's playbooks; returns its path. */
  file(name: string, text: string): string;
  /** `berth apply` of a playbook text, with --json events. */
  apply(name: string, yaml: string, flags?: string[]): Promise<Applied>;
  /** The services CLI (ps, logs, exec, run) as an operator runs it (give it absolute paths). */
  cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }>;
  down(): Promise<void>;
}

export async function servicesLab(name: string, hosts: number, opts: { init?: HostInit } = {}): Promise<ServicesLab> {
  const lab = await startLab({ name, hosts, init: opts.init });
  const ssh = (host: LabHost, cmd: string) => sshLab(lab, host, cmd);
  const file = (fileName: string, text: string) => {
    const path = join(lab.dir, fileName);
    writeFileSync(path, text);
    return path;
  };
  const run = (argv: string[], cwd = lab.dir) =>
    new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      const child = spawn(process.execPath, argv, { cwd, env: { ...process.env, CI: 'true' } });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d) => (stdout += d));
      child.stderr.on('data', (d) => (stderr += d));
      child.on('close', (code) => resolve({ code: code ?? 1, stdout, stderr }));
    });
  const apply = async (pbName: string, yaml: string, flags: string[] = []): Promise<Applied> => {
    const pb = file(`${pbName}.yml`, yaml);
    const r = await run([join(root, 'bin/berth.js'), 'apply', pb, '-i', lab.inventoryPath, '--json', ...flags]);
    const events = r.stdout
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Ev);
    const tasks = (host: string) => Object.fromEntries(events.filter((e) => e.type === 'task-end' && e.host === host).map((e) => [e.name, e]));
    return {
      code: r.code,
      events,
      stderr: r.stderr,
      tasks,
      changes: (host, task) => (tasks(host)[task]?.changes ?? []).map((c: { summary: string; cause?: string }) => `${c.summary}${c.cause ? ` [${c.cause}]` : ''}`),
    };
  };
  const sl: ServicesLab = {
    lab,
    hosts: lab.hosts,
    ssh,
    async inspect(host, container) {
      const r = await ssh(host, `docker inspect ${container}`);
      if (r.code !== 0) throw new Error(`docker inspect ${container} on ${host.name}: ${r.stderr}`);
      return (JSON.parse(r.stdout) as any[])[0];
    },
    async containers(host) {
      return (await ssh(host, 'docker ps -a --no-trunc --format "{{.Names}} {{.ID}}"')).stdout.split('\n').filter(Boolean).sort();
    },
    file,
    apply,
    // From the checkout, where `--import tsx` resolves; paths in `args` are absolute.
    cli: (args) => run(['--import', 'tsx', join(root, 'tests/services-cli.ts'), ...args], root),
    down: () => lab.down(),
  };
  await prepareEngine(sl, opts.init ?? 'tini');
  return sl;
}

/** Docker Engine from the lab's apt repository, started by hand (no init) or by systemd, and lab/busybox. */
async function prepareEngine(sl: ServicesLab, init: HostInit): Promise<void> {
  const engine =
    init === 'systemd'
      ? `      - runtime: { repo: "{{berth_apt_repo}}" }
      - package: { name: busybox-static, repo: "{{berth_apt_repo}}" }`
      : `      - package: { name: [docker.io, busybox-static], repo: "{{berth_apt_repo}}", update_cache: true, cache_valid_time: 1h }
      - shell: "pgrep -x dockerd >/dev/null || setsid dockerd >/var/log/dockerd.log 2>&1 </dev/null &"
      - shell: "for i in $(seq 1 150); do docker info >/dev/null 2>&1 && exit 0; sleep 0.2; done; cat /var/log/dockerd.log >&2; exit 1"`;
  const r = await sl.apply(
    'engine',
    `name: engine
plays:
  - hosts: all
    tasks:
${engine}
      - shell:
          cmd: >-
            mkdir -p /tmp/bb && cp /bin/busybox /tmp/bb/ &&
            printf 'FROM scratch\\nCOPY busybox /bin/busybox\\nRUN ["/bin/busybox","--install","-s","/bin"]\\n' > /tmp/bb/Dockerfile &&
            DOCKER_BUILDKIT=0 docker build -q -t lab/busybox /tmp/bb
`,
  );
  if (r.code !== 0) throw new Error(`preparing the engine failed (exit ${r.code}): ${r.stderr}\n${JSON.stringify(r.events.filter((e) => e.status === 'failed'))}`);
}
