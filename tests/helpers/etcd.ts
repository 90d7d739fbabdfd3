// A real etcd (Debian's etcd-server) for tests: installed on this machine when missing, started
// on the lab network's gateway (where lab hosts reach this machine) with a throwaway data dir,
// stopped by its own pid at the end.
import { spawn } from 'node:child_process';
import { mkdtempSync, openSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatError } from '../../controller/errors.js';
import { ensureTools } from '../../providers/lab/apt-tools.js';


export async function freePort(host: string): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, host, r));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

/** Debian's etcd-server, installed when no etcd runs here. */
export async function ensureEtcd(log: (line: string) => void = () => {}): Promise<void> {
  const t = await ensureTools(['etcd'], log);
  if (!t.ok) throw new Error(formatError(t.error));
}

export interface TestEtcd {
  url: string;
  stop(): void;
}

export async function startEtcd(gateway: string, name = 'berth-test', log?: (line: string) => void): Promise<TestEtcd> {
  await ensureEtcd(log);
  const dir = mkdtempSync(join(tmpdir(), 'berth-etcd-'));
  const client = await freePort(gateway);
  const peer = await freePort('127.0.0.1');
  const url = `http://${gateway}:${client}`;
  const out = openSync(join(dir, 'etcd.log'), 'a');
  const child = spawn(
    '/usr/bin/etcd',
    ['--name', name, '--data-dir', join(dir, 'data'), '--listen-client-urls', url, '--advertise-client-urls', url, '--listen-peer-urls', `http://127.0.0.1:${peer}`, '--initial-advertise-peer-urls', `http://127.0.0.1:${peer}`, '--initial-cluster', `${name}=http://127.0.0.1:${peer}`],
    { stdio: ['ignore', out, out] },
  );
  const pid = child.pid!;
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
  // The lab helper ends the process on SIGTERM/SIGINT with process.exit: etcd goes too.
  process.on('exit', stop);
  for (let i = 0; i < 100; i++) {
    const ok = await fetch(`${url}/health`).then((r) => r.ok, () => false);
    if (ok) return { url, stop };
    await new Promise((r) => setTimeout(r, 100));
  }
  stop();
  throw new Error(`etcd did not start at ${url}`);
}
