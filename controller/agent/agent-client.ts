// The controller's end of one agent channel: routes frames by request id, turns a lost channel
// into an error value for every pending request, and never parses anything but frames.
import {
  BLOB_CHUNK_BYTES,
  FrameReader,
  PROTOCOL_VERSION,
  RAW_BLOB_MIN_BYTES,
  encodeFrame,
  type AgentEvent,
  type AgentFrame,
  type HostFacts,
  type RequestBody,
  type WireError,
} from '../../protocol/agent-protocol.js';
import { constants as osConstants } from 'node:os';
import type { BlobRegistry } from '../blobs.js';
import { checkFacts } from './check-facts.js';
import { escapeControls, escapeDeep, fromHostEvent } from '../host-text.js';
import type { RelayBroker } from '../relay/broker.js';
import type { RemoteChannel } from '../transport.js';

export type Hello = Extract<AgentFrame, { t: 'hello' }>;

interface Pending {
  onEvent: (e: AgentEvent) => void;
  resolve: (r: { ok: true; result: unknown } | { ok: false; error: WireError }) => void;
}

export class AgentClient {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private lost: WireError | undefined;
  private saidBye = false;
  private stderrTail = '';
  private helloWaiters: Array<(h: { ok: true; hello: Hello } | { ok: false; error: WireError }) => void> = [];
  private hello: Hello | undefined;
  /** This machine's clock when the hello arrived, to compare with the host's (clock-skew.ts). */
  helloAt: number | undefined;
  private readonly lostCbs: Array<(e: WireError) => void> = [];
  /** Where fetched content comes from; set by the run that owns this agent. */
  blobs: BlobRegistry | undefined;
  /** Set when hosts relay content to each other this run: who this host is, and who decides. */
  relay: { host: string; broker: RelayBroker } | undefined;

  /** `rest` is whatever followed the ready marker in the first stdout chunk. */
  constructor(private readonly channel: RemoteChannel, rest: string) {
    const reader = new FrameReader<AgentFrame>(
      (f) => this.onFrame(f),
      (e) => this.fail(e),
    );
    channel.stdout.setEncoding('utf8');
    channel.stdout.on('data', (d: string) => reader.push(d));
    // startAgent paused stdout at the ready marker so nothing after it was lost; a paused
    // stream stays paused when a listener is added.
    channel.stdout.resume();
    channel.stderr.setEncoding('utf8');
    channel.stderr.on('data', (d: string) => (this.stderrTail = (this.stderrTail + d).slice(-4000)));
    channel.onExit((code, signal) => {
      const tail = escapeControls(this.stderrTail.trim().split('\n').slice(-5).join('\n'));
      // No exit status at all: the channel closed under us (network cut, host gone, keepalive
      // timeout), which is not the agent's doing. Callers report that host as unreachable.
      if (code === null && !signal) {
        return this.fail({ code: 'agent.connection-lost', message: 'lost the connection to the host while its agent was working (network cut, host down, or SSH keepalive timeout)', detail: tail || undefined });
      }
      this.fail({ code: 'agent.lost', message: `the agent ${describeExit(code, signal)}`, detail: tail || undefined });
    });
    if (rest) reader.push(rest);
  }

  /** Waits for the agent's hello and checks that both sides speak the same protocol. */
  waitHello(): Promise<{ ok: true; hello: Hello } | { ok: false; error: WireError }> {
    if (this.hello) return Promise.resolve({ ok: true, hello: this.hello });
    if (this.lost) return Promise.resolve({ ok: false, error: this.lost });
    return new Promise((resolve) => this.helloWaiters.push(resolve));
  }

  get facts(): HostFacts | undefined {
    return this.hello?.facts;
  }

  request(body: RequestBody, onEvent: (e: AgentEvent) => void = () => {}): { id: number; done: Promise<{ ok: true; result: unknown } | { ok: false; error: WireError }> } {
    const id = this.nextId++;
    if (this.lost) return { id, done: Promise.resolve({ ok: false, error: this.lost }) };
    const done = new Promise<{ ok: true; result: unknown } | { ok: false; error: WireError }>((resolve) => this.pending.set(id, { onEvent, resolve }));
    this.channel.write(encodeFrame({ t: 'req', id, ...body }));
    return { id, done };
  }

  cancel(id: number): void {
    if (!this.lost) this.channel.write(encodeFrame({ t: 'cancel', id }));
  }

  cancelAll(): void {
    for (const id of this.pending.keys()) this.cancel(id);
  }

  onLost(cb: (e: WireError) => void): void {
    this.lostCbs.push(cb);
  }

  /** Asks the agent to exit once idle and closes our side. */
  bye(): void {
    if (this.lost) return;
    this.saidBye = true;
    this.channel.write(encodeFrame({ t: 'bye' }));
    this.channel.end();
  }

  private onFrame(f: AgentFrame): void {
    switch (f.t) {
      case 'hello': {
        if (f.protocol !== PROTOCOL_VERSION) {
          return this.fail({ code: 'agent.protocol-mismatch', message: `the agent speaks protocol ${f.protocol}, this controller ${PROTOCOL_VERSION}` });
        }
        // Facts feed templates (and so paths on this machine): a host that fails their schema
        // is failed here, before any of it is kept.
        const facts = checkFacts(f.facts);
        if (!facts.ok) return this.fail(facts.error);
        this.hello = f;
        this.helloAt = Date.now();
        for (const w of this.helloWaiters.splice(0)) w({ ok: true, hello: f });
        return;
      }
      // What a host says is shown to the operator: its control characters arrive escaped, and an
      // event's texts bounded (host-text.ts).
      case 'event':
        this.pending.get(f.id)?.onEvent(fromHostEvent(f.event));
        return;
      case 'res': {
        const p = this.pending.get(f.id);
        this.pending.delete(f.id);
        p?.resolve(f.ok ? { ok: true, result: escapeDeep(f.result) } : { ok: false, error: escapeDeep(f.error) });
        return;
      }
      case 'log':
        return;
      case 'fetch':
        // A failed relay's reason goes into a warning: escaped like the rest of what a host says.
        return this.serveBlob(escapeDeep(f));
    }
  }

  private serveBlob(f: Extract<AgentFrame, { t: 'fetch' }>): void {
    const { fetch, sha256 } = f;
    const whole = this.blobs?.get(sha256);
    const from = f.from ?? 0;
    // A resumed fetch starts inside the content (empty content is only ever fetched from 0).
    if (!whole || !Number.isInteger(from) || from < 0 || (from > 0 && from >= whole.length)) {
      const message = whole ? `cannot resume ${sha256.slice(0, 12)} at byte ${from}` : `the controller has no content ${sha256.slice(0, 12)}`;
      this.channel.write(encodeFrame({ t: 'blob', fetch, ok: false, error: { code: 'blob.unknown', message } }));
      return;
    }
    // Only content that is the same for every host may be shared; rendered content never leaves
    // the controller for anyone but the host it was rendered for.
    const share = this.blobs?.mayShare(sha256) === true;
    const relay = share && this.relay && this.relay.broker.route(this.relay.host, sha256, whole.length, f);
    if (relay) {
      this.channel.write(encodeFrame({ t: 'blob', fetch, ok: true, relay }));
      return;
    }
    const data = whole.subarray(from);
    if (this.blobs) this.blobs.served += data.length;
    if (data.length < RAW_BLOB_MIN_BYTES) {
      this.channel.write(encodeFrame({ t: 'blob', fetch, ok: true, data: data.toString('base64'), last: true, ...(share ? { share } : {}) }));
      return;
    }
    // Raw: each frame's line, then its bytes. Both writes happen in the same tick, so no other
    // frame can come between them; the chunks are views of the registry's buffer, not copies.
    for (let at = 0; at < data.length; at += BLOB_CHUNK_BYTES) {
      const chunk = data.subarray(at, at + BLOB_CHUNK_BYTES);
      this.channel.write(encodeFrame({ t: 'blob', fetch, ok: true, bytes: chunk.length, last: at + BLOB_CHUNK_BYTES >= data.length, ...(share && at === 0 ? { share } : {}) }));
      this.channel.write(chunk);
    }
  }

  private fail(e: WireError): void {
    if (this.lost) return;
    this.lost = e;
    for (const w of this.helloWaiters.splice(0)) w({ ok: false, error: e });
    for (const p of this.pending.values()) p.resolve({ ok: false, error: e });
    this.pending.clear();
    // An agent leaving after our bye is the normal end, not a lost host.
    if (!(this.saidBye && this.pending.size === 0)) for (const cb of this.lostCbs) cb(e);
    this.channel.close();
  }
}

/** How an agent ended; a shell reports a signal as 128 + its number. */
function describeExit(code: number | null, signal?: string): string {
  const byNumber = (n: number) => Object.entries(osConstants.signals).find(([, v]) => v === n)?.[0];
  if (signal) return `was killed by ${signal.startsWith('SIG') ? signal : `SIG${signal}`}`;
  const sig = code !== null && code > 128 ? byNumber(code - 128) : undefined;
  return sig ? `was killed by ${sig} (exit ${code})` : `exited with code ${code}`;
}
