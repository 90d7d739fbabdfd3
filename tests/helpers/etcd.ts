// A real etcd (Debian's etcd-server) for tests: installed on this machine when missing, started
// on the lab network's gateway (where lab hosts reach this machine) with a throwaway data dir,
// stopped by its own pid at the end. Optionally with TLS (a CA, a server certificate for the
// gateway's address and a client certificate, all made here with openssl; clients must present
// the certificate) and with etcd's own users (a root user and `auth enable`, through etcdctl).
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { formatError } from '../../controller/errors.js';
import { ensureTools } from '../../providers/lab/apt-tools.js';

const pexec = promisify(execFile);

export async function freePort(host: string): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, host, r));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

/** Debian's etcd-server, installed when no etcd runs here (and etcd-client for etcdctl when asked). */
export async function ensureEtcd(log: (line: string) => void = () => {}, tools: string[] = ['etcd']): Promise<void> {
  const t = await ensureTools(tools, log);
  if (!t.ok) throw new Error(formatError(t.error));
}

/** PEM files of a TLS etcd: `ca` signed the server's certificate and the client's (`cert`, `key`). */
export interface EtcdTls {
  ca: string;
  cert: string;
  key: string;
}

export interface TestEtcd {
  url: string;
  /** With `tls`: the files a client needs. */
  tls?: EtcdTls;
  /** With `auth`: the root user's name and password. */
  auth?: { username: string; password: string };
  stop(): void;
}

export interface EtcdOptions {
  tls?: boolean;
  /** Enables etcd's auth with this root user; the client certificate's CN ("berth-client") is no user. */
  auth?: { username: 'root'; password: string };
}

/** A CA, a server certificate for `ip` (and loopback) and a client certificate, in `dir`. */
async function makeCertificates(dir: string, ip: string): Promise<EtcdTls & { serverCert: string; serverKey: string }> {
  const f = (n: string) => join(dir, n);
  const ossl = (args: string[]) => pexec('openssl', args, { cwd: dir });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  await ossl(['req', '-x509', ...ec, '-keyout', f('ca-key.pem'), '-out', f('ca.pem'), '-days', '2', '-subj', '/CN=berth-test-ca']);
  // Extensions from a file: the server's address as a SAN (gRPC checks it), the client's usage.
  writeFileSync(f('server.ext'), `subjectAltName=IP:${ip},IP:127.0.0.1\nextendedKeyUsage=serverAuth,clientAuth\n`);
  writeFileSync(f('client.ext'), 'extendedKeyUsage=clientAuth\n');
  for (const [leaf, cn] of [['server', 'etcd'], ['client', 'berth-client']]) {
    await ossl(['req', ...ec, '-keyout', f(`${leaf}-key.pem`), '-out', f(`${leaf}.csr`), '-subj', `/CN=${cn}`]);
    await ossl(['x509', '-req', '-in', f(`${leaf}.csr`), '-CA', f('ca.pem'), '-CAkey', f('ca-key.pem'), '-CAcreateserial', '-out', f(`${leaf}.pem`), '-days', '2', '-extfile', f(`${leaf}.ext`)]);
  }
  return { ca: f('ca.pem'), cert: f('client.pem'), key: f('client-key.pem'), serverCert: f('server.pem'), serverKey: f('server-key.pem') };
}

function healthy(url: string, tls?: EtcdTls): Promise<boolean> {
  if (!tls) return fetch(`${url}/health`).then((r) => r.ok, () => false);
  return new Promise((resolve) => {
    const req = request(`${url}/health`, { ca: readFileSync(tls.ca), cert: readFileSync(tls.cert), key: readFileSync(tls.key), timeout: 2000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('error', () => resolve(false));
    req.on('timeout', () => req.destroy());
    req.end();
  });
}

export async function startEtcd(gateway: string, name = 'berth-test', log?: (line: string) => void, opts: EtcdOptions = {}): Promise<TestEtcd> {
  await ensureEtcd(log, opts.auth ? ['etcd', 'etcdctl'] : ['etcd']);
  const dir = mkdtempSync(join(tmpdir(), 'berth-etcd-'));
  const client = await freePort(gateway);
  const peer = await freePort('127.0.0.1');
  const url = `${opts.tls ? 'https' : 'http'}://${gateway}:${client}`;
  const certs = opts.tls ? await makeCertificates(dir, gateway) : undefined;
  const tlsArgs = certs ? ['--cert-file', certs.serverCert, '--key-file', certs.serverKey, '--client-cert-auth', '--trusted-ca-file', certs.ca] : [];
  const out = openSync(join(dir, 'etcd.log'), 'a');
  const child = spawn(
    '/usr/bin/etcd',
    ['--name', name, '--data-dir', join(dir, 'data'), '--listen-client-urls', url, '--advertise-client-urls', url, '--listen-peer-urls', `http://127.0.0.1:${peer}`, '--initial-advertise-peer-urls', `http://127.0.0.1:${peer}`, '--initial-cluster', `${name}=http://127.0.0.1:${peer}`, ...tlsArgs],
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
  const tls = certs ? { ca: certs.ca, cert: certs.cert, key: certs.key } : undefined;
  for (let i = 0; i < 100; i++) {
    if (await healthy(url, tls)) {
      if (opts.auth) await enableAuth(url, tls, opts.auth).catch((e) => (stop(), Promise.reject(e)));
      return { url, stop, ...(tls ? { tls } : {}), ...(opts.auth ? { auth: opts.auth } : {}) };
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  stop();
  throw new Error(`etcd did not start at ${url}`);
}

/** etcd's root user and `auth enable`, as an operator would do it (etcdctl from Debian's etcd-client). */
async function enableAuth(url: string, tls: EtcdTls | undefined, auth: { username: string; password: string }): Promise<void> {
  const base = ['--endpoints', url, '--dial-timeout', '5s', ...(tls ? ['--cacert', tls.ca, '--cert', tls.cert, '--key', tls.key] : [])];
  const ctl = (args: string[]) => pexec('etcdctl', [...base, ...args], { env: { ...process.env, ETCDCTL_API: '3' } });
  await ctl(['role', 'add', 'root']).catch(() => undefined); // some versions create it with the user
  await ctl(['user', 'add', `${auth.username}:${auth.password}`]);
  await ctl(['user', 'grant-role', auth.username, 'root']);
  await ctl(['auth', 'enable']);
}

/**
 * An etcd for outage tests: `kill()` ends it as a crash would (SIGKILL, by its pid) and
 * `start()` brings it back on the same address with the same data, as a restarted member.
 */
export interface RestartableEtcd {
  url: string;
  kill(): Promise<void>;
  start(): Promise<void>;
  stop(): void;
}

export async function startRestartableEtcd(gateway: string, name = 'berth-outage', log?: (line: string) => void): Promise<RestartableEtcd> {
  await ensureEtcd(log);
  const dir = mkdtempSync(join(tmpdir(), 'berth-etcd-'));
  const url = `http://${gateway}:${await freePort(gateway)}`;
  const peer = `http://127.0.0.1:${await freePort('127.0.0.1')}`;
  const args = ['--name', name, '--data-dir', join(dir, 'data'), '--listen-client-urls', url, '--advertise-client-urls', url, '--listen-peer-urls', peer, '--initial-advertise-peer-urls', peer, '--initial-cluster', `${name}=${peer}`];
  let child: ReturnType<typeof spawn> | undefined;
  const kill = async () => {
    const c = child;
    child = undefined;
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    const exited = new Promise((r) => c.once('exit', r));
    c.kill('SIGKILL');
    await exited;
  };
  const start = async () => {
    if (child) return;
    const out = openSync(join(dir, 'etcd.log'), 'a');
    child = spawn('/usr/bin/etcd', args, { stdio: ['ignore', out, out] });
    for (let i = 0; i < 100; i++) {
      if (await fetch(`${url}/health`).then((r) => r.ok, () => false)) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`etcd did not start at ${url}`);
  };
  const stop = () => {
    // Only the process this helper started, by its pid.
    if (child?.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    child = undefined;
    rmSync(dir, { recursive: true, force: true });
  };
  process.on('exit', stop);
  await start().catch((e) => (stop(), Promise.reject(e)));
  return { url, kill, start, stop };
}
