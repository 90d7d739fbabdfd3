// Ensures the agent runs on a host and returns a client for it. The common case (the host has
// everything) costs one exec: the bootstrap script starts the agent straight away. Otherwise it
// names what is missing, the controller uploads exactly that, and starts again.
import { randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { READY_MARKER, type WireError } from '../../protocol/agent-protocol.js';
import { err, ok, type BerthError, type Result } from '../errors.js';
import type { HostTransport, RemoteChannel } from '../transport.js';
import { AgentClient, type Hello } from './agent-client.js';
import { agentArtifact, runtimeFor } from './artifacts.js';
import { parseNeed, receiveScript, shellCommand, stage1, type NeedLine } from './bootstrap-script.js';

export interface AgentStart {
  client: AgentClient;
  hello: Hello;
  /** Bytes uploaded to make the agent run (0 when the host had everything). */
  uploadedBytes: number;
  pushed: { agent: boolean; node: boolean };
}

/** Junk a login shell may print before our marker; more than this is not a shell greeting. */
const MAX_PREAMBLE = 64 * 1024;

type Outcome = { kind: 'ready'; rest: string } | { kind: 'need'; need: NeedLine } | { kind: 'exit'; code: number | null; stderr: string };

export async function startAgent(t: HostTransport, opts: { become: boolean; host: string }): Promise<Result<AgentStart>> {
  const art = agentArtifact();
  const pushed = { agent: false, node: false };
  let uploadedBytes = 0;
  let uploads = 0;
  let retriedRuntime = false;
  for (;;) {
    const nonce = randomBytes(12).toString('hex');
    const spawned = await t.spawn(shellCommand(stage1(art.sha256, nonce), opts.become));
    if (!spawned.ok) return spawned;
    const outcome = await untilReady(spawned.value, nonce);
    if (outcome.kind === 'ready') {
      const client = new AgentClient(spawned.value, outcome.rest);
      const hello = await client.waitHello();
      if (!hello.ok) return err(fromWire(hello.error, opts.host));
      if (hello.hello.agentSha256 !== art.sha256) {
        return err({ code: 'agent.mismatch', message: `the agent on ${opts.host} reports sha256 ${hello.hello.agentSha256.slice(0, 12)}, expected ${art.sha256.slice(0, 12)}`, where: opts.host });
      }
      return ok({ client, hello: hello.hello, uploadedBytes, pushed });
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
      sending.push(upload(t, receiveScript('agent', art.sha256), art.bytes, art.bytes.length, opts));
    }
    if (outcome.need.node) {
      pushed.node = true;
      const runtime = await runtimeFor(outcome.need.arch);
      if (!runtime.ok) return err({ ...runtime.error, where: opts.host });
      sending.push(upload(t, receiveScript('node', runtime.value.sha256), createReadStream(runtime.value.gzPath), runtime.value.gzBytes, opts));
    }
    for (const u of await Promise.all(sending)) {
      if (!u.ok) return u;
      uploadedBytes += u.value;
    }
  }
}

async function upload(t: HostTransport, script: string, data: Buffer | NodeJS.ReadableStream, size: number, opts: { become: boolean; host: string }): Promise<Result<number>> {
  const r = await t.exec(shellCommand(script, opts.become), { stdin: data });
  if (!r.ok) return r;
  if (r.value.code !== 0) {
    return err({ code: 'agent.upload-failed', message: `upload to ${opts.host} failed: ${r.value.stderr.toString().trim() || `exit ${r.value.code}`}`, where: opts.host });
  }
  return ok(size);
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
  const stderr = o.stderr.trim();
  if (opts.become && /password is required|no tty present|not in the sudoers/i.test(stderr)) {
    return { code: 'become.failed', message: `sudo on ${opts.host} needs a password or is not allowed: ${stderr.split('\n').pop()}`, where: opts.host, hint: 'berth uses `sudo -n`: give the user passwordless sudo (NOPASSWD) or connect as root' };
  }
  const last = stderr.split('\n').slice(-3).join(' | ');
  return { code: 'agent.start-failed', message: `the agent did not start on ${opts.host} (exit ${o.code})${last ? `: ${last}` : ''}`, where: opts.host };
}

export function fromWire(e: WireError, host: string): BerthError {
  return { code: e.code, message: e.detail ? `${e.message}\n${e.detail}` : e.message, where: host };
}
