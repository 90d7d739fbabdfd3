// Ensures the agent runs on a host and returns a client for it. The common case (the host has
// everything) costs one exec: the bootstrap script starts the agent straight away. Otherwise it
// names what is missing, the controller uploads exactly that, and starts again.
import { randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { READY_MARKER, type WireError } from '../../protocol/agent-protocol.js';
import { parseDuration } from '../../modules/lib/duration.js';
import { err, ok, type BerthError, type Result } from '../errors.js';
import type { HostTransport, RemoteChannel } from '../transport.js';
import { AgentClient, type Hello } from './agent-client.js';
import { escapeControls } from '../host-text.js';
import { agentArtifact, runtimeFor } from './artifacts.js';
import { clockSkew, type ClockSkew } from './clock-skew.js';
import { parseNeed, receiveScript, shellCommand, stage1, type NeedLine } from './bootstrap-script.js';

export interface AgentStart {
  client: AgentClient;
  hello: Hello;
  /** Bytes uploaded to make the agent run (0 when the host had everything). */
  uploadedBytes: number;
  pushed: { agent: boolean; node: boolean };
  /** The host's clock against this machine's, when the agent reported its own. */
  clock?: ClockSkew;
}

/** Junk a login shell may print before our marker; more than this is not a shell greeting. */
const MAX_PREAMBLE = 64 * 1024;

/**
 * How long a started agent may take to say hello (ready marker, then facts). A healthy one
 * answers in well under a second; 30 s leaves room for a loaded host or a slow Docker socket,
 * while a hung runtime (a broken node binary, a dockerd that never answers the facts) can no
 * longer hold its host, its fork slot and the end of the whole run forever. Uploads are not
 * counted: a slow link pushing the runtime is not a hung agent.
 */
export const AGENT_HELLO_TIMEOUT_MS = 30_000;

/** BERTH_AGENT_TIMEOUT ("45s", "2m", or seconds) over the default; a value that is no duration is ignored. */
export function agentHelloTimeoutMs(env: NodeJS.ProcessEnv = process.env): number {
  const v = env.BERTH_AGENT_TIMEOUT?.trim();
  const ms = v ? parseDuration(v) : undefined;
  return ms !== undefined && ms > 0 ? ms : AGENT_HELLO_TIMEOUT_MS;
}

type Outcome = { kind: 'ready'; rest: string } | { kind: 'need'; need: NeedLine } | { kind: 'exit'; code: number | null; stderr: string };

export async function startAgent(t: HostTransport, opts: { become: boolean; host: string }): Promise<Result<AgentStart>> {
  const art = agentArtifact();
  const pushed = { agent: false, node: false };
  let uploadedBytes = 0;
  let uploads = 0;
  let retriedRuntime = false;
  const helloMs = agentHelloTimeoutMs();
  for (;;) {
    const nonce = randomBytes(12).toString('hex');
    const spawnedAt = Date.now();
    const spawned = await t.spawn(shellCommand(stage1(art.sha256, nonce), opts.become));
    if (!spawned.ok) return spawned;
    const answered = await untilHello(spawned.value, nonce, helloMs, opts.host);
    if (!answered.ok) return answered;
    const outcome = answered.value;
    if (outcome.kind === 'hello') {
      const { client, hello } = outcome;
      if (!hello.ok) return err(fromWire(hello.error, opts.host));
      if (hello.hello.agentSha256 !== art.sha256) {
        return err({ code: 'agent.mismatch', message: `the agent on ${opts.host} reports sha256 ${hello.hello.agentSha256.slice(0, 12)}, expected ${art.sha256.slice(0, 12)}`, where: opts.host });
      }
      return ok({ client, hello: hello.hello, uploadedBytes, pushed, clock: clockSkew(hello.hello, spawnedAt, client.helloAt) });
    }
    if (outcome.kind === 'exit') {
      // The bootstrap dropped a damaged runtime's stamp: the next attempt pushes it again.
      if (!retriedRuntime && outcome.stderr.includes('will be pushed again')) {
        retriedRuntime = true;
        continue;
      }
      return err(startFailure(outcome, opts));
    }
    if (uploads++ > 0) {
      return err({ code: 'agent.bootstrap', message: `${opts.host} still lacks the ${outcome.need.agent ? 'agent' : 'Node runtime'} after uploading it`, where: opts.host, hint: `check free space and permissions under ${outcome.need.dir}` });
    }
    const sending: Array<Promise<Result<number>>> = [];
    if (outcome.need.agent) {
      pushed.agent = true;
      sending.push(upload(t, receiveScript('agent', art.sha256), art.bytes, art.bytes.length, { ...opts, what: 'the agent', dir: outcome.need.dir }));
    }
    if (outcome.need.node) {
      pushed.node = true;
      const runtime = await runtimeFor(outcome.need.arch);
      if (!runtime.ok) return err({ ...runtime.error, where: opts.host });
      sending.push(upload(t, receiveScript('node', runtime.value.sha256), createReadStream(runtime.value.gzPath), runtime.value.gzBytes, { ...opts, what: 'the Node runtime', dir: outcome.need.dir }));
    }
    for (const u of await Promise.all(sending)) {
      if (!u.ok) return u;
      uploadedBytes += u.value;
    }
  }
}

async function upload(t: HostTransport, script: string, data: Buffer | NodeJS.ReadableStream, size: number, opts: { become: boolean; host: string; what: string; dir: string }): Promise<Result<number>> {
  const r = await t.exec(shellCommand(script, opts.become), { stdin: data });
  if (!r.ok) return r;
  if (r.value.code !== 0) {
    const said = escapeControls(r.value.stderr.toString().trim()) || `exit ${r.value.code}`;
    // A full disk is the usual cause, and the shell's words ("cat: write error") do not say which disk.
    if (/no space left on device/i.test(said)) {
      return err({ code: 'agent.disk-full', message: `no space left on the disk under ${opts.dir} on ${opts.host}: ${opts.what} (${size} bytes) could not be written there (${said})`, where: opts.host, hint: `free space under ${opts.dir} (df -h ${opts.dir}) and apply again` });
    }
    return err({ code: 'agent.upload-failed', message: `upload of ${opts.what} to ${opts.dir} on ${opts.host} failed: ${said}`, where: opts.host });
  }
  return ok(size);
}

type Answer = Exclude<Outcome, { kind: 'ready' }> | { kind: 'hello'; client: AgentClient; hello: Awaited<ReturnType<AgentClient['waitHello']>> };

/**
 * The bootstrap's answer (a NEED line, its exit, or the agent's hello), within `ms`. Past that
 * the channel is closed and the host is given up with what was seen of it: hung before the
 * marker means the runtime never ran the agent; after it, the agent hung gathering facts.
 */
async function untilHello(ch: RemoteChannel, nonce: string, ms: number, host: string): Promise<Result<Answer>> {
  let started = false;
  let stderr = '';
  ch.stderr.on('data', (d: Buffer | string) => (stderr = (stderr + d.toString()).slice(-2000)));
  const answer = (async (): Promise<Answer> => {
    const outcome = await untilReady(ch, nonce);
    if (outcome.kind !== 'ready') return outcome;
    started = true;
    const client = new AgentClient(ch, outcome.rest);
    return { kind: 'hello', client, hello: await client.waitHello() };
  })();
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), ms)));
  const first = await Promise.race([answer, late]);
  clearTimeout(timer);
  if (first !== 'late') return ok(first);
  ch.close();
  const said = escapeControls(stderr.trim().split('\n').slice(-3).join(' | '));
  const secs = `${Math.round(ms / 100) / 10} s`;
  return err({
    code: 'agent.timeout',
    message: started
      ? `the agent on ${host} started but sent no hello within ${secs} (it hung gathering facts: OS, disk, the Docker engine)${said ? `: ${said}` : ''}`
      : `the agent on ${host} did not answer within ${secs} of its start (the Node runtime, or the shell starting it, hung)${said ? `: ${said}` : ''}`,
    where: host,
    hint: started
      ? 'check that the Docker engine on the host answers (`docker info`); BERTH_AGENT_TIMEOUT=2m gives a slow host more time'
      : 'the agent did not answer: check node on the host (`node --version`, or berth\'s own runtime, /var/lib/berth/node/*/node --version as root); BERTH_AGENT_TIMEOUT=2m gives a slow host more time',
  });
}

/** Reads the bootstrap's stdout until the agent's marker, a NEED line, or the end. */
function untilReady(ch: RemoteChannel, nonce: string): Promise<Outcome> {
  const marker = `${READY_MARKER} ${nonce}\n`;
  return new Promise((resolve) => {
    let out = '';
    let errText = '';
    let settled = false;
    const settle = (o: Outcome) => {
      if (settled) return;
      settled = true;
      // Paused before the listener goes: a stream flowing with no listener drops what it holds,
      // and under load the hello often sits right behind the marker in the same read loop.
      // AgentClient resumes the stream once its own listener is on.
      ch.stdout.pause();
      ch.stdout.off('data', onData);
      resolve(o);
    };
    const onData = (d: Buffer | string) => {
      out += d.toString();
      const at = out.indexOf(marker);
      if (at >= 0) return settle({ kind: 'ready', rest: out.slice(at + marker.length) });
      for (const line of out.split('\n')) {
        const need = parseNeed(line.trim());
        if (need) return settle({ kind: 'need', need });
      }
      if (out.length > MAX_PREAMBLE) out = out.slice(-MAX_PREAMBLE);
    };
    ch.stdout.on('data', onData);
    ch.stderr.on('data', (d: Buffer | string) => (errText = (errText + d.toString()).slice(-8000)));
    ch.onExit((code) => setImmediate(() => settle({ kind: 'exit', code, stderr: errText })));
  });
}

function startFailure(o: { code: number | null; stderr: string }, opts: { become: boolean; host: string }): BerthError {
  // The host's words, shown to the operator: escaped like everything else a host says.
  const stderr = escapeControls(o.stderr.trim());
  if (opts.become && /password is required|no tty present|not in the sudoers/i.test(stderr)) {
    return { code: 'become.failed', message: `sudo on ${opts.host} needs a password or is not allowed: ${stderr.split('\n').pop()}`, where: opts.host, hint: 'berth uses `sudo -n`: give the user passwordless sudo (NOPASSWD) or connect as root' };
  }
  const last = stderr.split('\n').slice(-3).join(' | ');
  return { code: 'agent.start-failed', message: `the agent did not start on ${opts.host} (exit ${o.code})${last ? `: ${last}` : ''}`, where: opts.host };
}

export function fromWire(e: WireError, host: string): BerthError {
  return { code: e.code, message: e.detail ? `${e.message}\n${e.detail}` : e.message, where: host };
}
