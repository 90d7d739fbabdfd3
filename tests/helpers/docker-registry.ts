// A real image registry for tests: Debian's docker-registry (the Distribution registry) with
// htpasswd credentials (a bcrypt line from apache2-utils' htpasswd), both installed on this
// machine when missing, serving plain HTTP on the lab network's gateway (where lab hosts reach
// this machine; their engines list it in insecure-registries) from a throwaway folder, stopped by
// its own pid at the end.
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatError } from '../../controller/errors.js';
import { ensureTools } from '../../providers/lab/apt-tools.js';
import { freePort } from './etcd.js';

export interface TestRegistry {
  /** host:port, as image references name it. */
  address: string;
  user: string;
  password: string;
  /** An Authorization header value for the registry's own API. */
  basic: string;
  /** The tags a repository has now, asked of the registry's API. */
  tags(repository: string): Promise<string[]>;
  stop(): void;
}

/** `port`: where to listen (default: a free one), for a caller that must name it before the registry starts. */
export async function startRegistry(host: string, log: (line: string) => void = () => {}, port?: number): Promise<TestRegistry> {
  const tools = await ensureTools(['docker-registry', 'htpasswd'], log);
  if (!tools.ok) throw new Error(formatError(tools.error));
  const dir = mkdtempSync(join(tmpdir(), 'berth-registry-'));
  mkdirSync(join(dir, 'data'));
  const user = 'berth';
  const password = `pw-${randomBytes(6).toString('hex')}`;
  writeFileSync(join(dir, 'htpasswd'), execFileSync('htpasswd', ['-nbB', user, password], { encoding: 'utf8' }).trim() + '\n');
  const address = `${host}:${port ?? (await freePort(host))}`;
  writeFileSync(
    join(dir, 'config.yml'),
    `version: 0.1\nlog: {level: warn}\nstorage: {filesystem: {rootdirectory: ${join(dir, 'data')}}, delete: {enabled: true}}\nhttp: {addr: "${address}"}\nauth: {htpasswd: {realm: berth-test, path: ${join(dir, 'htpasswd')}}}\n`,
  );
  const child = spawn('docker-registry', ['serve', join(dir, 'config.yml')], { stdio: ['ignore', 'ignore', 'pipe'] });
  const pid = child.pid!;
  let out = '';
  child.stderr!.on('data', (d) => (out += d));
  let stopped = false;
  const stop = () => {
    if (stopped) return;
    stopped = true;
    // Only the process this helper started, by its pid.
    try {
      process.kill(pid, 'SIGTERM');
    } catch {
      // Already gone.
    }
    rmSync(dir, { recursive: true, force: true });
  };
  process.on('exit', stop);
  const basic = `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
  for (let i = 0; i < 100; i++) {
    // Up and asking for credentials: 401 without them.
    const r = await fetch(`http://${address}/v2/`).catch(() => undefined);
    if (r?.status === 401) {
      return {
        address,
        user,
        password,
        basic,
        async tags(repository) {
          const t = await fetch(`http://${address}/v2/${repository}/tags/list`, { headers: { authorization: basic } });
          return t.ok ? ((await t.json()) as { tags: string[] | null }).tags ?? [] : [];
        },
        stop,
      };
    }
    await new Promise((res) => setTimeout(res, 100));
  }
  stop();
  throw new Error(`docker-registry did not start at ${address}: ${out}`);
}
