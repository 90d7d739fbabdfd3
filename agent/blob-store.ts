// Content the controller sent, kept on the host by sha256 under berth's directory, so that the
// same file is never sent twice. Content comes over the protocol channel, or from another host's
// relay when the controller says so (agent/relay/); either way it is checked against its hash.
// Only content that is the same for every host (files, build contexts, image layers: what the
// controller marks shareable) is kept across runs. Content rendered for this host (a template's
// output, inline content) may hold its secrets: it is kept in a folder of this agent's own and
// removed when the agent exits, so that it does not outlive the run on the host's disk.
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, mkdirSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { isIP } from 'node:net';
import { fileURLToPath } from 'node:url';
import type { AgentFrame, ControllerFrame, RelayEndpoint, RelaySource, WireError } from '../protocol/agent-protocol.js';
import { fetchFromPeer } from './relay/peer-fetch.js';
import { hostAddresses, RelayServer } from './relay/server.js';
import { Spool } from './relay/spool.js';

type BlobFrame = Extract<ControllerFrame, { t: 'blob' }>;
type BlobResult = { ok: true; path: string } | { ok: false; error: WireError };

/** Bytes a streamed blob may hold in memory before its source stops sending. */
const STREAM_BUFFER_BYTES = 4 << 20;

/** Where received bytes go (the blob store's file, or a stream that `docker load` reads). */
interface Sink {
  /** Whether the content may be shared (is the same for every host), said with each piece. */
  shareable?(yes: boolean): void;
  /** False: hold the source back until `onDrain`. */
  write(bytes: Buffer): boolean;
  onDrain(cb: () => void): void;
  end(): void;
  fail(error: WireError): void;
}

interface Flow {
  pause(): void;
  resume(): void;
}

interface Relay {
  server: RelayServer | undefined;
  /** Content peers may read, by sha256. */
  spools: Map<string, Spool>;
  /**
   * Content this host has asked for but whose first piece (which says whether it may be shared)
   * has not come yet: a peer the controller already sent here waits for that answer.
   */
  pending: Map<string, { spool: Promise<Spool | undefined>; settle: (s: Spool | undefined) => void }>;
  /** Spools made for peers alone (streamed content), as opposed to the store's own files. */
  own: Set<Spool>;
  dir: string;
  key: Buffer;
}

const errorOf = (error: WireError) => Object.assign(new Error(error.message), { code: error.code });

export class BlobStore {
  readonly dir: string;
  private next = 1;
  private readonly inflight = new Map<number, (f: BlobFrame, payload?: Buffer) => void>();
  private readonly bySha = new Map<string, Promise<BlobResult>>();
  /** The controller is gone: nothing more will come from it. */
  private aborted = false;
  /**
   * Open once the controller asked (`relay.open`): shareable content this host receives, peers
   * may read (`server`: none when no other host is given an address of this one).
   */
  private relay: Relay | undefined;

  /** `flow`: pauses the channel's input while a streamed blob's reader lags behind. */
  constructor(
    private readonly send: (f: AgentFrame) => void,
    private readonly flow?: Flow,
    dir?: string,
  ) {
    // The agent lives at <berth dir>/agent/<sha>.mjs; blobs go beside it.
    this.dir = dir ?? join(dirname(dirname(fileURLToPath(import.meta.url))), 'blobs');
  }

  /** This agent's folder for content rendered for this host (see the top of the file). */
  private get runDir(): string {
    return join(this.dir, `run-${process.pid}`);
  }

  /** Content rendered for this host goes: called when the agent exits. */
  dropRunFiles(): void {
    rmSync(this.runDir, { recursive: true, force: true });
  }

  get(sha256: string): Promise<BlobResult> {
    if (!/^[0-9a-f]{64}$/.test(sha256)) return Promise.resolve({ ok: false, error: { code: 'blob.bad-hash', message: `not a sha256: ${sha256}` } });
    const path = join(this.dir, sha256);
    if (existsSync(path)) return Promise.resolve({ ok: true, path });
    const mine = join(this.runDir, sha256);
    if (existsSync(mine)) return Promise.resolve({ ok: true, path: mine });
    let p = this.bySha.get(sha256);
    if (!p) {
      p = this.fetch(sha256, path).finally(() => this.bySha.delete(sha256));
      this.bySha.set(sha256, p);
    }
    return p;
  }

  /**
   * The content as it arrives, not kept: for content used once and passed on, like an image
   * layer into `docker load`, which then overlaps with the transfer instead of following it, and
   * costs no write and read back of the whole layer (with the relay open it is kept for peers
   * until the agent exits). The hash is checked as the bytes go by; the stream fails at its end
   * when it does not match (whoever reads it must not commit before the end). Content the store
   * has already is read from there.
   */
  stream(sha256: string): Readable {
    // Errors reach whoever reads the stream; one nobody listens to must not end the agent.
    if (!/^[0-9a-f]{64}$/.test(sha256)) {
      const r = new PassThrough().on('error', () => {});
      return r.destroy(errorOf({ code: 'blob.bad-hash', message: `not a sha256: ${sha256}` }));
    }
    const path = join(this.dir, sha256);
    if (existsSync(path)) return createReadStream(path).on('error', () => {});
    const out = new PassThrough({ highWaterMark: STREAM_BUFFER_BYTES }).on('error', () => {});
    const drains: Array<() => void> = [];
    const drained = () => drains.splice(0).forEach((cb) => cb());
    // A reader that went away (a failed load) must never leave a source paused.
    out.on('drain', drained).on('close', drained);
    // Nothing is written to disk unless the content is shared with peers (a spool of its own).
    this.receive(sha256, undefined, {
      // Pieces for a reader that is gone are dropped; the rest still has to be read off the channel.
      write: (bytes) => out.destroyed || out.write(bytes),
      onDrain: (cb) => (out.destroyed ? cb() : drains.push(cb)),
      end: () => void (out.destroyed || out.end()),
      fail: (error) => void out.destroy(errorOf(error)),
    });
    return out;
  }

  /** `payload`: the content of a raw frame (see ByteFrameReader). */
  onFrame(f: BlobFrame, payload?: Buffer): void {
    this.inflight.get(f.fetch)?.(f, payload);
  }

  /**
   * The controller is gone: content still on its way will never arrive. Failing those fetches
   * ends the tasks waiting for them (so the agent can exit instead of waiting forever) and
   * removes their partial temp files.
   */
  abortAll(): void {
    // Fetches that start later (a relay that fails and falls back to the controller) fail at once.
    this.aborted = true;
    for (const id of [...this.inflight.keys()]) {
      this.inflight.get(id)?.({ t: 'blob', fetch: id, ok: false, error: { code: 'blob.aborted', message: 'the controller went away before the content arrived' } });
    }
  }

  /** This host's addresses, for the controller to pick the ones other hosts are given (`relay.addresses`). */
  relayAddresses(): RelayEndpoint['addresses'] {
    return hostAddresses();
  }

  /**
   * Starts serving shareable content this host receives to the run's other hosts (`relay.open`),
   * on the addresses in `bind` only; with none, this host only fetches from peers.
   */
  async openRelay(key: string, port: number, bind: string[]): Promise<{ ok: true; value: RelayEndpoint } | { ok: false; error: WireError }> {
    if (!this.relay) {
      if (!/^[0-9a-f]{64}$/.test(key)) return { ok: false, error: { code: 'relay.bad-key', message: 'the relay key is not 32 bytes of hex' } };
      if (!Array.isArray(bind) || bind.some((b) => typeof b !== 'string' || isIP(b) === 0)) return { ok: false, error: { code: 'relay.bad-bind', message: `the relay's addresses must be IP addresses, got ${JSON.stringify(bind)}` } };
      const spools = new Map<string, Spool>();
      const pending: Relay['pending'] = new Map();
      const runKey = Buffer.from(key, 'hex');
      let server: RelayServer | undefined;
      if (bind.length > 0) {
        const opened = await RelayServer.open(runKey, port, bind, (sha) => spools.get(sha) ?? pending.get(sha)?.spool);
        if (!opened.ok) return { ok: false, error: { code: 'relay.listen', message: opened.message } };
        server = opened.value;
      }
      this.removeStaleFolders();
      const dir = join(this.dir, `relay-${process.pid}`);
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      this.relay = { server, spools, pending, own: new Set(), dir, key: runKey };
    }
    return { ok: true, value: { port: this.relay.server?.port ?? 0, addresses: hostAddresses() } };
  }

  /** The run is over for this agent: its relay stops and what only peers needed goes. */
  closeRelay(): void {
    if (!this.relay) return;
    this.relay.server?.close();
    for (const p of this.relay.pending.values()) p.settle(undefined);
    // Spools of its own (streamed content) go; so do the store's files it shared, except one a
    // transfer is still filling: that goes on for this host, and its fetch closes it.
    for (const s of new Set([...this.relay.spools.values(), ...this.relay.own])) if (this.relay.own.has(s) || !s.receiving) s.close();
    rmSync(this.relay.dir, { recursive: true, force: true });
    this.relay = undefined;
  }

  /** Spool and run folders of agents that died before they could remove theirs (killed, say). */
  removeStaleFolders(): void {
    let names: string[] = [];
    try {
      names = readdirSync(this.dir).filter((n) => /^(relay|run)-\d+$/.test(n));
    } catch {
      return;
    }
    for (const n of names) {
      const pid = Number(n.slice(n.indexOf('-') + 1));
      try {
        process.kill(pid, 0);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ESRCH') rmSync(join(this.dir, n), { recursive: true, force: true });
      }
    }
  }

  /**
   * Content this host starts to receive, which peers may come to read: until its first piece says
   * whether it may be shared, a peer asking for it waits. Returns how to settle that: with the
   * store's temporary file `keep`, or a spool of its own (shareable), or nothing (not shareable).
   * Undefined when no peer can read from here (no relay serving), or the same content is already
   * claimed (two images sharing a layer).
   */
  private claim(sha256: string, keep: Spool | undefined): ((shareable: boolean) => Spool | undefined) | undefined {
    const r = this.relay;
    if (!r?.server || r.spools.has(sha256) || r.pending.has(sha256)) return undefined;
    let settle!: (s: Spool | undefined) => void;
    const spool = new Promise<Spool | undefined>((resolve) => (settle = resolve));
    const entry = { spool, settle };
    r.pending.set(sha256, entry);
    return (shareable) => {
      if (r.pending.get(sha256) !== entry) return undefined;
      r.pending.delete(sha256);
      // Closed meanwhile: nobody reads from here any more.
      const s = shareable && this.relay === r ? (keep ?? new Spool(join(r.dir, sha256))) : undefined;
      if (s && !keep) r.own.add(s);
      if (s) r.spools.set(sha256, s);
      settle(s);
      return s;
    };
  }

  private fetch(sha256: string, path: string): Promise<BlobResult> {
    mkdirSync(this.dir, { recursive: true });
    const tmp = `${path}.${process.pid}.${this.next}.tmp`;
    // The temporary file is what peers read when the content is shared: while it fills, and after the rename.
    const spool = new Spool(tmp);
    const shared = () => this.relay?.spools.get(sha256) === spool;
    let shareable = false;
    return new Promise((resolve) => {
      this.receive(sha256, spool, {
        shareable: (yes) => (shareable = yes),
        write: () => true,
        onDrain: () => {},
        end: () => {
          let kept = path;
          if (!shareable) {
            // Rendered for this host: this agent's folder, gone when it exits.
            if (!existsSync(this.runDir)) {
              this.removeStaleFolders();
              mkdirSync(this.runDir, { recursive: true, mode: 0o700 });
            }
            kept = join(this.runDir, sha256);
          }
          renameSync(tmp, kept);
          // A spool no peer can ask for is done with; a shared one stays open until the run ends.
          if (!shared()) spool.close();
          resolve({ ok: true, path: kept });
        },
        fail: (error) => {
          if (!shared()) spool.close();
          rmSync(tmp, { force: true });
          resolve({ ok: false, error });
        },
      });
    });
  }

  /**
   * Receives content into `keep` (the store's file, when there is one) and `sink`: from the
   * controller, or from the relay it names; when a relay fails part way, the controller sends the
   * rest. Peers may read it only when the controller says it may be shared (or it came from a
   * relay, which only ever carries such content): never content rendered for this host.
   */
  private receive(sha256: string, keep: Spool | undefined, sink: Sink): void {
    const hash = createHash('sha256');
    let got = 0;
    let finished = false;
    let spool = keep;
    let settle = this.claim(sha256, keep);
    const decide = (shareable: boolean) => {
      if (!settle) return;
      spool = settle(shareable) ?? keep;
      settle = undefined;
    };
    const finish = (error?: WireError) => {
      if (finished) return;
      finished = true;
      // Failed before its first piece: a peer waiting for it hears there is nothing.
      decide(false);
      if (error) {
        spool?.fail();
        if (this.relay?.spools.get(sha256) === spool) this.relay?.spools.delete(sha256);
        sink.fail(error);
      } else {
        spool?.finish();
        sink.end();
      }
    };
    let pausedSource: Flow | undefined;
    const take = (bytes: Buffer, last: boolean, source: Flow) => {
      hash.update(bytes);
      got += bytes.length;
      // The last piece goes on only after the check: a reader never sees all of a bad blob.
      if (last && hash.digest('hex') !== sha256) return finish({ code: 'blob.corrupt', message: `content received for ${sha256.slice(0, 12)} does not match its hash` });
      if (spool && !spool.append(bytes) && this.relay?.spools.get(sha256) === spool) this.relay.spools.delete(sha256);
      if (!sink.write(bytes) && !pausedSource) {
        pausedSource = source;
        source.pause();
        sink.onDrain(() => {
          pausedSource = undefined;
          source.resume();
        });
      }
      if (last) finish();
    };
    const channel: Flow = this.flow ?? { pause: () => {}, resume: () => {} };

    const fromController = (resume?: { from: number; relayFailed: string; reason: string }) => {
      if (this.aborted) return finish({ code: 'blob.aborted', message: 'the controller went away before the content arrived' });
      const id = this.next++;
      this.inflight.set(id, (f, payload) => {
        if (!f.ok) {
          this.inflight.delete(id);
          return finish(f.error);
        }
        if ('relay' in f) {
          this.inflight.delete(id);
          decide(true);
          // A relay only ever carries content that is the same for every host.
          sink.shareable?.(true);
          // Only a host whose relay is open is sent to another's; without the key, ask again directly.
          if (!this.relay) return fromController({ from: got, relayFailed: f.relay.host, reason: 'this host has no relay key' });
          return fromPeer(f.relay, this.relay.key);
        }
        decide(f.share === true);
        sink.shareable?.(f.share === true);
        const bytes = 'data' in f ? Buffer.from(f.data, 'base64') : payload;
        if (f.last) this.inflight.delete(id);
        if (finished) return;
        if (!bytes) return finish({ code: 'blob.corrupt', message: `a raw piece of ${sha256.slice(0, 12)} arrived without its bytes` });
        take(bytes, f.last, channel);
      });
      this.send({ t: 'fetch', fetch: id, sha256, ...(resume ?? {}) });
    };

    const fromPeer = (source: RelaySource, key: Buffer) => {
      const fallback = (reason: string) => {
        if (finished) return;
        // A source paused for a slow reader is gone: the reader's drain resumes nothing now.
        pausedSource = undefined;
        fromController({ from: got, relayFailed: source.host, reason });
      };
      const peer = fetchFromPeer(source, key, { sha256, from: got }, {
        data: (bytes) => {
          if (finished) return;
          if (got + bytes.length > source.size) {
            peer.stop();
            return finish({ code: 'blob.corrupt', message: `the relay on ${source.host} sent more than the ${source.size} bytes of ${sha256.slice(0, 12)}` });
          }
          take(bytes, got + bytes.length === source.size, peer);
        },
        end: () => fallback(`the relay on ${source.host} stopped after ${got} of ${source.size} bytes`),
        fail: fallback,
      });
    };

    fromController();
  }
}
