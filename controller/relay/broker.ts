// Decides, for each fetch of a large blob, who sends it: the controller, or a host of the run
// that has it or is receiving it. The first host to ask gets it from the controller; each later
// one from the earliest host that has it (or is part way) and has passed it on to fewer than
// FANOUT others. Hosts relay while they receive, so a fleet fills as a tree of pipelines and the
// controller's uplink carries each blob about once (docs/images.md).
import { randomBytes } from 'node:crypto';
import { RELAY_MIN_BYTES, type RelayEndpoint, type RelaySource } from '../../protocol/agent-protocol.js';

/** Hosts each host sends a blob to. Two: a binary tree, so depth grows with log2 of the fleet. */
const FANOUT = 2;

/** Relays that sent nothing before the run stops relaying. */
const UNREACHABLE_LIMIT = 2;

export interface RelayWarning {
  host: string;
  code: string;
  message: string;
  hint: string;
}

export class RelayBroker {
  /** The run's pre-shared key (hex): hosts' relays serve only who holds it. */
  readonly key = randomBytes(32).toString('hex');
  /** host -> its relay's port, and the address each other host is given for it (what it listens on). */
  private readonly endpoints = new Map<string, { port: number; given: Map<string, string> }>();
  /** sha256 -> host that has it or is receiving it -> hosts it was asked to pass it to. */
  private readonly holders = new Map<string, Map<string, number>>();
  private readonly broken = new Set<string>();
  /** Relays (distinct hosts) that failed before sending a byte: hosts that cannot reach each other at all. */
  private unreachable = 0;
  private off = false;
  /** Bytes hosts sent each other instead of the controller (what it sent is BlobRegistry.served). */
  relayedBytes = 0;

  constructor(private readonly onWarning: (w: RelayWarning) => void = () => {}) {}

  /**
   * `given`: for each other host, the address it dials to reach this host's relay, chosen before
   * the relay opened (open-relays.ts) so that it listens on exactly those; no entry, no relay
   * from this host to that one. A host with no entry at all still fetches from the others.
   */
  addHost(host: string, endpoint: Pick<RelayEndpoint, 'port'>, given: Map<string, string>): void {
    this.endpoints.set(host, { port: endpoint.port, given });
  }

  get hosts(): number {
    return this.endpoints.size;
  }

  /**
   * Where `host` gets `size` bytes of `sha256` from byte `from`: another host's relay, or the
   * controller (undefined). `relayFailed`: that relay failed this host part way, so the controller
   * sends the rest, and no host is sent to that relay again.
   */
  route(host: string, sha256: string, size: number, fetch: { from?: number; relayFailed?: string; reason?: string }): RelaySource | undefined {
    const from = fetch.from ?? 0;
    if (fetch.relayFailed) {
      this.relayedBytes -= size - from;
      if (!this.broken.has(fetch.relayFailed)) {
        this.broken.add(fetch.relayFailed);
        if (from === 0) this.unreachable += 1;
        this.onWarning({
          host,
          code: 'relay.failed',
          message: `could not fetch from ${fetch.relayFailed}'s relay (${fetch.reason ?? 'no reason given'}); the controller sent the rest, and no host uses that relay again this run`,
          hint: `set berth_relay_address for ${fetch.relayFailed} to an address the other hosts reach, allow its relay port (berth_relay_port), or run with --no-relay`,
        });
      }
      // Two relays that sent nothing at all: the hosts most likely cannot reach each other (a
      // firewall, separate networks). Every further host would wait out a connect timeout first.
      if (this.unreachable >= UNREACHABLE_LIMIT && !this.off) {
        this.off = true;
        this.onWarning({ host, code: 'relay.off', message: `${UNREACHABLE_LIMIT} relays could not be reached at all; the controller sends all content for the rest of this run`, hint: 'let the hosts reach each other on their relay port (berth_relay_port), or run with --no-relay' });
      }
      return undefined;
    }
    const source = size >= RELAY_MIN_BYTES && this.endpoints.has(host) && !this.off ? this.pickSource(host, sha256) : undefined;
    if (this.endpoints.has(host) && !this.broken.has(host)) {
      let hs = this.holders.get(sha256);
      if (!hs) this.holders.set(sha256, (hs = new Map()));
      if (!hs.has(host)) hs.set(host, 0);
    }
    if (!source) return undefined;
    this.relayedBytes += size - from;
    return { ...source, size };
  }

  /** A host that left the run: no host is sent to its relay any more. */
  drop(host: string): void {
    this.broken.add(host);
  }

  private pickSource(host: string, sha256: string): Omit<RelaySource, 'size'> | undefined {
    const hs = this.holders.get(sha256);
    if (!hs) return undefined;
    // The earliest holder with room: it is furthest along, so a follower mostly reads what is
    // there already, and the fleet fills breadth first (depth log2 of the hosts, not a chain).
    for (const [h, served] of hs) {
      if (h === host || served >= FANOUT || this.broken.has(h)) continue;
      const e = this.endpoints.get(h)!;
      const address = e.given.get(host);
      if (!address) continue;
      hs.set(h, served + 1);
      return { host: h, address, port: e.port };
    }
    return undefined;
  }
}
