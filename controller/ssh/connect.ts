// Opening one verified, authenticated SSH connection, directly or through jump hosts, and saying
// precisely why when it cannot be done.
import { connect as netConnect, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import ssh2, { type ConnectConfig, type ServerHostKeyAlgorithm } from 'ssh2';
import { err, ok, type BerthError, type Result } from '../errors.js';
import { planAuth } from './auth.js';
import { describeSocketError, oneLine, sshError } from './errors.js';
import { createHostKeyVerifier } from './host-key.js';
import { Session, type SshSession } from './session.js';
import { describeTarget, labelTarget, type SshTarget } from './target.js';

export interface ConnectOptions {
  /** Record the keys of hosts not yet in known_hosts. Default: BERTH_ACCEPT_NEW_HOST_KEYS=1. */
  acceptNewHostKeys?: boolean;
  /**
   * Supplies the connection to a jump host. Default: a connection of its own, closed with the
   * session. SshPool passes one that shares a bastion between all the hosts behind it.
   */
  jumpSession?: (jump: SshTarget) => Promise<Result<SshSession, BerthError>>;
  /** Channels open at once per connection (sshd's MaxSessions, 10 by default). */
  maxChannels?: number;
  env?: NodeJS.ProcessEnv;
  /** ssh2's protocol trace, for debugging a handshake. Never includes key material. */
  debug?: (line: string) => void;
}

export function acceptNewHostKeysFromEnv(env: NodeJS.ProcessEnv = process.env): boolean {
  return /^(1|true|yes)$/i.test(env.BERTH_ACCEPT_NEW_HOST_KEYS ?? '');
}

export async function connect(target: SshTarget, opts: ConnectOptions = {}): Promise<Result<SshSession, BerthError>> {
  if (!target.jump) {
    const started = Date.now();
    const sock = await tcpConnect(target, target.connectTimeoutMs);
    if (!sock.ok) return sock;
    return handshake(target, sock.value, target.connectTimeoutMs - (Date.now() - started), opts, undefined);
  }

  const jump = target.jump;
  const hop = opts.jumpSession ? await opts.jumpSession(jump) : await connect(jump, opts);
  if (!hop.ok) {
    const cause = hop.error;
    // A failure further up the chain already names its hop; do not wrap it twice.
    if (cause.code === 'ssh.jump-failed') return hop;
    return err(sshError('ssh.jump-failed',
      `cannot reach ${labelTarget(target)} through jump host ${labelTarget(jump)}: ${cause.message}`,
      target.name, cause.hint));
  }
  const owned = opts.jumpSession ? undefined : hop.value;
  const started = Date.now();
  const fwd = await withTimeout(hop.value.forwardOut(target.host, target.port), target.connectTimeoutMs, () =>
    sshError('ssh.jump-failed', `jump host ${labelTarget(jump)} did not open a connection to ${target.host}:${target.port} within ${target.connectTimeoutMs / 1000} s`, target.name));
  if (!fwd.ok) {
    owned?.close();
    return err({ ...fwd.error, where: target.name });
  }
  const r = await handshake(target, fwd.value, target.connectTimeoutMs - (Date.now() - started), opts, owned);
  if (!r.ok) owned?.close();
  return r;
}

/** The TCP part on its own, so refusals and timeouts are reported as such, not as SSH errors. */
function tcpConnect(target: SshTarget, timeoutMs: number): Promise<Result<Socket, BerthError>> {
  return new Promise((resolve) => {
    const sock = netConnect({ host: target.host, port: target.port });
    // ssh2 writes many small packets; with Nagle on, each round trip waits ~40 ms for a delayed
    // ACK (machine-facts §7: 47 ms vs 0.4 ms per round trip).
    sock.setNoDelay(true);
    const fail = (why: string) => {
      clearTimeout(timer);
      sock.destroy();
      resolve(err(sshError('ssh.unreachable', `cannot connect to ${describeTarget(target)}: ${why}`, target.name,
        `check that the host is up and sshd listens on ${target.host}:${target.port}`)));
    };
    const timer = setTimeout(() => fail(`no answer within ${timeoutMs / 1000} s`), timeoutMs);
    sock.once('error', (e) => fail(describeSocketError(e)));
    sock.once('connect', () => {
      clearTimeout(timer);
      sock.removeAllListeners('error');
      // TCP keepalive as well, so a half-open connection is noticed even when ssh is idle.
      sock.setKeepAlive(true, 15_000);
      resolve(ok(sock));
    });
  });
}

type Stage = 'handshake' | 'authentication';

function handshake(
  target: SshTarget,
  sock: Duplex,
  timeoutMs: number,
  opts: ConnectOptions,
  owns: SshSession | undefined,
): Promise<Result<SshSession, BerthError>> {
  const acceptNew = opts.acceptNewHostKeys ?? acceptNewHostKeysFromEnv(opts.env);
  const verifier = createHostKeyVerifier(target, acceptNew);
  const auth = planAuth(target);
  const client = new ssh2.Client();
  const who = describeTarget(target);

  return new Promise((resolve) => {
    let settled = false;
    let stage: Stage = 'handshake';
    const finish = (r: Result<SshSession, BerthError>) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (!r.ok) {
        client.removeAllListeners('ready');
        client.on('error', () => {});
        client.destroy();
        sock.destroy();
      }
      resolve(r);
    };
    const unreachable = (why: string) =>
      sshError('ssh.unreachable', `cannot connect to ${who}: ${why}`, target.name, `check that sshd runs on ${target.host}:${target.port}`);

    const timer = setTimeout(
      () => finish(err(unreachable(`the SSH ${stage} did not finish within ${target.connectTimeoutMs / 1000} s`))),
      Math.max(1, timeoutMs),
    );

    client.on('handshake', () => {
      stage = 'authentication';
    });
    client.on('ready', () => {
      const parts: ConstructorParameters<typeof Session>[0] = { client, target };
      if (opts.maxChannels !== undefined) parts.maxChannels = opts.maxChannels;
      if (owns) parts.owns = owns;
      finish(ok(new Session(parts)));
    });
    client.on('error', (e: Error & { level?: string; code?: unknown }) => {
      // An unusable agent is one credential less, not the end: ssh2 goes on with the next.
      if (e.level === 'agent' || settled) return;
      if (verifier.failure) return finish(err(verifier.failure));
      switch (e.level) {
        case 'client-authentication':
          return finish(err(auth.failure()));
        case 'client-socket':
          return finish(err(unreachable(describeSocketError(e))));
        case 'client-timeout':
          return finish(err(unreachable(oneLine(e))));
        case 'protocol':
          return finish(err(unreachable(`the connection closed before the SSH handshake (${oneLine(e)}); is an SSH server listening there?`)));
        case 'handshake':
          return finish(err(sshError('ssh.handshake-failed', `SSH handshake with ${who} failed: ${oneLine(e)}`, target.name,
            'the server and berth (ssh2) share no key exchange, cipher or host key algorithm')));
      }
      // A DISCONNECT from the server during authentication is usually MaxAuthTries running out.
      if (stage === 'authentication') {
        const f = auth.failure();
        return finish(err({ ...f, message: `${f.message}; the server ended the connection: ${oneLine(e)}` }));
      }
      finish(err(unreachable(oneLine(e))));
    });
    client.on('close', () => {
      if (verifier.failure) return finish(err(verifier.failure));
      finish(err(unreachable(`the connection closed during the SSH ${stage}`)));
    });

    const config: ConnectConfig = {
      sock,
      username: target.user,
      hostVerifier: (key: Buffer) => verifier.verify(key),
      algorithms: { serverHostKey: verifier.algorithms as ServerHostKeyAlgorithm[] },
      authHandler: auth.handler,
      // Our own timer covers TCP, handshake and authentication as one budget.
      readyTimeout: 0,
      keepaliveInterval: target.keepaliveIntervalMs,
      keepaliveCountMax: target.keepaliveCountMax,
    };
    if (opts.debug) config.debug = opts.debug;
    try {
      client.connect(config);
    } catch (e) {
      finish(err(sshError('ssh.handshake-failed', `cannot start SSH with ${who}: ${oneLine(e)}`, target.name)));
    }
  });
}

/** Like p, but an error after ms; a stream that opens too late is closed, not leaked. */
async function withTimeout(p: Promise<Result<Duplex, BerthError>>, ms: number, onTimeout: () => BerthError): Promise<Result<Duplex, BerthError>> {
  let timer: NodeJS.Timeout | undefined;
  let timedOut = false;
  const t = new Promise<Result<Duplex, BerthError>>((resolve) => {
    timer = setTimeout(() => {
      timedOut = true;
      resolve(err(onTimeout()));
    }, ms);
  });
  void p.then((r) => {
    if (timedOut && r.ok) r.value.destroy();
  });
  try {
    return await Promise.race([p, t]);
  } finally {
    clearTimeout(timer);
  }
}
