// Host-to-host relay, on this machine: two or three agents' blob stores in this process, each with
// its relay open on loopback (real TLS-PSK sockets, real spool files), and the controller's
// decisions made by the real broker. The controller's channel is played by a function that
// answers fetches with raw frames, as tests/blob-stream.test.ts does, so each case is exact: a
// relay that passes content on while it still arrives, a wrong key, a relay that dies part way.
// On lab hosts over SSH: tests/images.test.ts.
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect as netConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { BlobStore } from '../agent/blob-store.js';
import { fetchFromPeer } from '../agent/relay/peer-fetch.js';
import { startAgent } from '../controller/agent/start-agent.js';
import { BlobRegistry } from '../controller/blobs.js';
import { localTransport } from '../controller/local-transport.js';
import { RelayBroker, type RelayWarning } from '../controller/relay/broker.js';
import { openRelays, type RelayHost } from '../controller/relay/open-relays.js';
import { pickAddress } from '../controller/relay/pick-address.js';
import { BLOB_CHUNK_BYTES, RELAY_MIN_BYTES, type AgentFrame, type HostPlan, type RelayEndpoint } from '../protocol/agent-protocol.js';

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const work = mkdtempSync(join(tmpdir(), 'berth-relay-'));
const addr = (address: string, cidr: string, iface = 'eth0') => ({ address, family: 'IPv4' as const, cidr, iface });

test('pickAddress: a subnet the other host is on first; addresses every host has (NAT, engine bridges) never', () => {
  const nat = addr('10.0.2.15', '10.0.2.15/24', 'eth0');
  const bridge = addr('172.17.0.1', '172.17.0.1/16', 'docker0');
  const a = [nat, addr('192.168.56.11', '192.168.56.11/24', 'eth1'), addr('10.8.0.5', '10.8.0.5/24', 'wg0'), bridge];
  const b = [nat, addr('192.168.56.12', '192.168.56.12/24', 'eth1'), bridge];
  assert.is(pickAddress(a, b, [a, b]), '192.168.56.11', 'the private network both VMs are on');
  const c = [nat, addr('10.8.0.9', '10.8.0.9/24', 'wg0')];
  assert.is(pickAddress(a, c, [a, b, c]), '10.8.0.5', 'the tunnel both are on');
  assert.is(pickAddress([nat, bridge], b, [[nat, bridge], b]), undefined, 'only shared addresses: no relay from there');
  // One host alone on its bridge still does not offer it: engine bridges are local whatever their subnet.
  assert.is(pickAddress([addr('172.20.0.1', '172.20.0.1/16', 'br-0a1b2c3d4e5f'), addr('203.0.113.7', '203.0.113.7/24')], b, [a, b]), '203.0.113.7');
});

const endpoint = (_address: string): RelayEndpoint => ({ port: 4000, addresses: [] });
/** Every host of the test dials `address` for this one (what open-relays.ts works out from the interfaces). */
const givenAll = (address: string) => new Map(['h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'h9'].map((h) => [h, address]));

test('broker: the first host gets a blob from the controller, the next ones from hosts that have it, two each at most', () => {
  const b = new RelayBroker();
  for (const [i, h] of ['h1', 'h2', 'h3', 'h4', 'h5', 'h6'].entries()) b.addHost(h, endpoint(`10.1.0.${i + 1}`), givenAll(`10.1.0.${i + 1}`));
  const s = 'a'.repeat(64);
  const big = RELAY_MIN_BYTES * 4;
  assert.is(b.route('h1', s, big, {}), undefined, 'h1 first: from the controller');
  const sources = ['h2', 'h3', 'h4', 'h5', 'h6'].map((h) => b.route(h, s, big, {})?.host);
  assert.equal(sources, ['h1', 'h1', 'h2', 'h2', 'h3'], 'breadth first: from the earliest holder that has passed it on fewer than twice');
  assert.is(b.relayedBytes, 5 * big);
  assert.is(b.route('h2', 'b'.repeat(64), RELAY_MIN_BYTES - 1, {}), undefined, 'small content: always the controller');
  assert.is(b.route('h3', 'b'.repeat(64), RELAY_MIN_BYTES - 1, {}), undefined);
  const outsider = b.route('h9', s, big, {});
  assert.is(outsider, undefined, 'a host without a relay of its own gets everything from the controller');
});

test('broker: a failed relay is reported once and no host is sent there again', () => {
  const warnings: RelayWarning[] = [];
  const b = new RelayBroker((w) => warnings.push(w));
  b.addHost('h1', endpoint('10.1.0.1'), givenAll('10.1.0.1'));
  b.addHost('h2', endpoint('10.1.0.2'), givenAll('10.1.0.2'));
  b.addHost('h3', endpoint('10.1.0.3'), givenAll('10.1.0.3'));
  const s = 'c'.repeat(64);
  const size = RELAY_MIN_BYTES * 2;
  b.route('h1', s, size, {});
  assert.is(b.route('h2', s, size, {})?.host, 'h1');
  assert.is(b.route('h2', s, size, { from: 1000, relayFailed: 'h1', reason: 'connection refused' }), undefined, 'the rest from the controller');
  assert.is(b.relayedBytes, 1000, 'what h1 did send');
  assert.is(warnings.length, 1);
  assert.match(warnings[0].message, /could not fetch from h1's relay \(connection refused\)/);
  assert.match(warnings[0].hint, /berth_relay_address/);
  assert.is(b.route('h3', s, size, {})?.host, 'h2', 'h3 is sent to h2, not to h1, which has room but failed');
  b.route('h3', s, size, { from: 0, relayFailed: 'h1', reason: 'again' });
  assert.is(warnings.length, 1, 'reported once');
  // A host that left the run (its agent lost) is dropped without anyone having to fail on it first.
  b.addHost('h4', endpoint('10.1.0.4'), givenAll('10.1.0.4'));
  b.addHost('h5', endpoint('10.1.0.5'), givenAll('10.1.0.5'));
  b.drop('h2');
  assert.is(b.route('h4', s, size, {})?.host, 'h3', 'not h1 (failed), not h2 (gone)');
  // h1 failed part way (1000 bytes came): reachable. h3's and h4's relays send nothing at all:
  // two relays unreachable, so relaying stops for the run.
  b.route('h4', s, size, { from: 0, relayFailed: 'h3', reason: 'no answer within 3 s' });
  assert.equal(warnings.map((w) => w.code), ['relay.failed', 'relay.failed'], 'one unreachable relay is not enough');
  assert.is(b.route('h5', s, size, {})?.host, 'h4');
  b.route('h5', s, size, { from: 0, relayFailed: 'h4', reason: 'connection refused' });
  assert.equal(warnings.map((w) => w.code), ['relay.failed', 'relay.failed', 'relay.failed', 'relay.off']);
  assert.match(warnings[3].message, /2 relays could not be reached at all; the controller sends all content/);
  b.addHost('h6', endpoint('10.1.0.6'), givenAll('10.1.0.6'));
  assert.is(b.route('h6', s, size, {}), undefined, 'h5 has it and room to pass it on, but relaying is off');
});

/** Closed at the end whatever happened: a test that fails part way must not leave relays listening. */
const everyStore: BlobStore[] = [];

/**
 * Agents in this process, each a BlobStore with its own folder and relay, and a controller that
 * serves `content` through the real broker, `msPerChunk` between raw pieces.
 */
async function fleet(names: string[], content: Buffer, opts: { msPerChunk?: number; key?: (host: string) => string | undefined; share?: boolean } = {}) {
  const broker = new RelayBroker((w) => warnings.push(w));
  const warnings: RelayWarning[] = [];
  const fetches: Array<{ host: string; from: number; relayFailed?: string }> = [];
  let controllerBytes = 0;
  const stores = new Map<string, BlobStore>();
  const ports = new Map<string, number>();
  for (const host of names) {
    const store: BlobStore = new BlobStore(
      (f: AgentFrame) => {
        if (f.t !== 'fetch') return;
        fetches.push({ host, from: f.from ?? 0, relayFailed: f.relayFailed });
        const relay = opts.share !== false && broker.route(host, f.sha256, content.length, f);
        if (relay) return setImmediate(() => store.onFrame({ t: 'blob', fetch: f.fetch, ok: true, relay }));
        void (async () => {
          for (let at = f.from ?? 0; at < content.length; at += BLOB_CHUNK_BYTES) {
            await new Promise((r) => setTimeout(r, opts.msPerChunk ?? 0));
            const piece = content.subarray(at, at + BLOB_CHUNK_BYTES);
            controllerBytes += piece.length;
            // As the controller does: files and layers may be shared, rendered content not.
            store.onFrame({ t: 'blob', fetch: f.fetch, ok: true, bytes: piece.length, last: at + BLOB_CHUNK_BYTES >= content.length, ...(opts.share !== false && at === (f.from ?? 0) ? { share: true } : {}) }, piece);
          }
        })();
      },
      undefined,
      join(work, `${host}-${process.pid}-${Math.random().toString(36).slice(2)}`),
    );
    const opened = await store.openRelay(opts.key?.(host) ?? broker.key, 0, ['127.0.0.1']);
    if (!opened.ok) throw new Error(opened.error.message);
    // Loopback is what these agents share; the broker would never pick it from interfaces.
    broker.addHost(host, opened.value, new Map(names.map((n) => [n, '127.0.0.1'])));
    ports.set(host, opened.value.port);
    stores.set(host, store);
    everyStore.push(store);
  }
  return { broker, stores, ports, warnings, fetches, controllerBytes: () => controllerBytes };
}

/** What a reader got, and in what order things happened (`log` is shared between readers). */
function collect(name = '', log: string[] = []) {
  const parts: Buffer[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      if (parts.length === 0) log.push(`${name} first bytes`);
      parts.push(chunk);
      cb();
    },
    final(cb) {
      log.push(`${name} end`);
      cb();
    },
  });
  return { sink, got: () => Buffer.concat(parts) };
}

test('three hosts: the controller sends a blob once, the others get it through relays while it still arrives', async () => {
  const content = randomBytes(12 * BLOB_CHUNK_BYTES + 123);
  // 20 ms between pieces: h1 is still receiving when h2 and h3 start reading from the relays.
  const f = await fleet(['h1', 'h2', 'h3'], content, { msPerChunk: 20 });
  const order: string[] = [];
  const readers = ['h1', 'h2', 'h3'].map((h) => collect(h, order));
  const h1 = pipeline(f.stores.get('h1')!.stream(sha(content)), readers[0].sink);
  await new Promise((r) => setTimeout(r, 60));
  const h2 = pipeline(f.stores.get('h2')!.stream(sha(content)), readers[1].sink);
  await new Promise((r) => setTimeout(r, 30));
  // h3 keeps its copy in the blob store (get), as a file to copy would be.
  const h3 = f.stores.get('h3')!.get(sha(content));
  await Promise.all([h1, h2]);
  const stored = await h3;
  assert.ok(readers[0].got().equals(content) && readers[1].got().equals(content), 'streamed whole');
  assert.ok(stored.ok && readFileSync(stored.path).equals(content), 'stored whole');
  assert.is(f.controllerBytes(), content.length, 'the controller sent it once');
  assert.ok(order.indexOf('h2 first bytes') < order.indexOf('h1 end'), `h2 read from h1's relay before h1 had it all: ${order.join(', ')}`);
  assert.equal(f.fetches.map((x) => x.host), ['h1', 'h2', 'h3'], 'one fetch each, no fallback');
  assert.is(f.broker.relayedBytes, 2 * content.length);
  assert.is(f.warnings.length, 0);
  for (const s of f.stores.values()) s.closeRelay();
  assert.equal(readdirSync(f.stores.get('h1')!.dir).filter((n) => n.startsWith('relay-')), [], 'spooled content goes with the relay');
});

test('a relay refusing the key, and a relay that dies part way: the controller sends what is missing, and the content is whole', async () => {
  const content = randomBytes(8 * BLOB_CHUNK_BYTES);
  // h2's relay was opened with another key (another run's): its handshake with h1 fails, and h2
  // falls back to the controller from byte 0.
  const wrong = await fleet(['h1', 'h2'], content, { key: (h) => (h === 'h2' ? 'f'.repeat(64) : undefined) });
  const r1 = collect();
  const r2 = collect();
  await pipeline(wrong.stores.get('h1')!.stream(sha(content)), r1.sink);
  await pipeline(wrong.stores.get('h2')!.stream(sha(content)), r2.sink);
  assert.ok(r2.got().equals(content));
  assert.equal(wrong.fetches.slice(1), [{ host: 'h2', from: 0, relayFailed: undefined }, { host: 'h2', from: 0, relayFailed: 'h1' }]);
  assert.is(wrong.warnings.length, 1);
  assert.is(wrong.broker.relayedBytes, 0);
  for (const s of wrong.stores.values()) s.closeRelay();

  // h1's relay closes while h2 reads from it, h1 itself still receiving slowly.
  const dying = await fleet(['h1', 'h2'], content, { msPerChunk: 40 });
  const d1 = collect();
  const d2 = collect();
  const p1 = pipeline(dying.stores.get('h1')!.stream(sha(content)), d1.sink).catch(() => {});
  await new Promise((r) => setTimeout(r, 150));
  const p2 = pipeline(dying.stores.get('h2')!.stream(sha(content)), d2.sink);
  await new Promise((r) => setTimeout(r, 100));
  dying.stores.get('h1')!.closeRelay();
  await p2;
  await p1;
  assert.ok(d2.got().equals(content), 'whole, though it came from two places');
  const resumed = dying.fetches.find((x) => x.host === 'h2' && x.relayFailed === 'h1');
  assert.ok(resumed && resumed.from > 0 && resumed.from < content.length, `resumed part way, at ${resumed?.from}`);
  dying.stores.get('h2')!.closeRelay();
});

test('the controller gone mid-transfer: a host reading from a relay fails at once instead of waiting for content that cannot come', async () => {
  const content = randomBytes(10 * BLOB_CHUNK_BYTES);
  const f = await fleet(['h1', 'h2'], content, { msPerChunk: 50 });
  const p1 = pipeline(f.stores.get('h1')!.stream(sha(content)), collect().sink).then(() => 'done', (e: Error & { code?: string }) => e.code);
  await new Promise((r) => setTimeout(r, 120));
  const p2 = pipeline(f.stores.get('h2')!.stream(sha(content)), collect().sink).then(() => 'done', (e: Error & { code?: string }) => e.code);
  await new Promise((r) => setTimeout(r, 60));
  // Both channels close (the controller was killed): h1's own transfer fails, so does its relay's
  // stream to h2, whose fall-back to the controller must not wait on a channel that is gone.
  f.stores.get('h2')!.abortAll();
  f.stores.get('h1')!.abortAll();
  // (This test's controller would still answer a fetch: h2 getting 'done' would mean it asked.)
  assert.equal(await Promise.all([p1, p2]), ['blob.aborted', 'blob.aborted']);
  for (const s of f.stores.values()) s.closeRelay();
});

test('the relay serves nothing it was not given, and checks what it passes on', async () => {
  const content = randomBytes(2 * BLOB_CHUNK_BYTES);
  const tampered = Buffer.from(content);
  tampered[5] ^= 1;
  // The controller serves tampered bytes: h1 fails the hash at the end, and so does h2, which read
  // h1's copy through its relay; neither passes the whole of it on.
  const f = await fleet(['h1', 'h2'], tampered);
  const r1 = collect();
  const r2 = collect();
  const e1 = await pipeline(f.stores.get('h1')!.stream(sha(content)), r1.sink).then(() => undefined, (e: Error & { code?: string }) => e.code);
  const e2 = await pipeline(f.stores.get('h2')!.stream(sha(content)), r2.sink).then(() => undefined, (e: Error & { code?: string }) => e.code);
  assert.is(e1, 'blob.corrupt');
  assert.is(e2, 'blob.corrupt');
  assert.ok(r2.got().length < content.length);
  for (const s of f.stores.values()) s.closeRelay();
  assert.not.ok(existsSync(join(f.stores.get('h1')!.dir, sha(content))), 'nothing bad kept');
});

/** What a host holding the run's key gets when it asks a relay for `sha256` itself: the bytes, or why not. */
function askRelay(port: number, key: string, sha256: string, size: number): Promise<{ bytes: number } | { refused: string }> {
  return new Promise((resolve) => {
    let bytes = 0;
    fetchFromPeer({ host: 'h1', address: '127.0.0.1', port, size }, Buffer.from(key, 'hex'), { sha256, from: 0 }, {
      data: (b) => void (bytes += b.length),
      end: () => resolve({ bytes }),
      fail: (reason) => resolve(bytes ? { bytes } : { refused: reason }),
    });
  });
}

test('content rendered for a host (not shareable) is never spooled nor served to peers; shareable content is', async () => {
  const rendered = randomBytes(2 * BLOB_CHUNK_BYTES);
  const f = await fleet(['h1', 'h2'], rendered, { share: false });
  const kept = await f.stores.get('h1')!.get(sha(rendered));
  assert.ok(kept.ok && readFileSync(kept.path).equals(rendered), 'h1 has it for itself');
  // h2 holds the run's key and asks h1's relay for it anyway.
  const asked = await askRelay(f.ports.get('h1')!, f.broker.key, sha(rendered), rendered.length);
  assert.ok('refused' in asked && /has no content/.test(asked.refused), `h1's relay served ${JSON.stringify(asked)}`);
  assert.equal(readdirSync(f.stores.get('h1')!.dir).filter((n) => n.startsWith('relay-')).flatMap((d) => readdirSync(join(f.stores.get('h1')!.dir, d))), [], 'nothing spooled');
  for (const s of f.stores.values()) s.closeRelay();

  // The control: the same request for a file every host gets is served.
  const file = randomBytes(2 * BLOB_CHUNK_BYTES);
  const g = await fleet(['h1', 'h2'], file);
  assert.ok((await g.stores.get('h1')!.get(sha(file))).ok);
  assert.equal(await askRelay(g.ports.get('h1')!, g.broker.key, sha(file), file.length), { bytes: file.length });
  for (const s of g.stores.values()) s.closeRelay();

  // And the controller marks what may be shared: files and layers, not rendered content.
  const blobs = new BlobRegistry();
  const path = join(work, `file-${process.pid}`);
  writeFileSync(path, file);
  assert.is(blobs.mayShare(blobs.add('password=hunter2 rendered for h1').sha256), false);
  assert.is(blobs.mayShare(blobs.addFile(path).sha256), true);
});

test('a peer sent to a host before its first piece arrived (which says whether it may be shared) waits for it, and gets the content', async () => {
  const content = randomBytes(3 * BLOB_CHUNK_BYTES);
  // 150 ms before each piece: h2 is routed to h1 and connects while h1 still waits for its first.
  const f = await fleet(['h1', 'h2'], content, { msPerChunk: 150 });
  const h1 = f.stores.get('h1')!.get(sha(content));
  await new Promise((r) => setTimeout(r, 20));
  const h2 = await f.stores.get('h2')!.get(sha(content));
  assert.ok((await h1).ok && h2.ok && readFileSync(h2.path).equals(content));
  assert.equal(f.warnings, [], 'no relay failed');
  assert.is(f.controllerBytes(), content.length, 'the controller sent it once');
  for (const s of f.stores.values()) s.closeRelay();
});

/** The agent's answers to relay.addresses and relay.open, for a store whose host has one loopback address of its own. */
function loopbackAgent(store: BlobStore, address: string, opened?: (port: number) => void): RelayHost['request'] {
  return async (body) => {
    if (body.method === 'relay.addresses') return { ok: true as const, result: [{ address, family: 'IPv4', cidr: `${address}/8`, iface: 'lo' }] };
    if (body.method !== 'relay.open') return { ok: false as const, error: { code: 'test', message: `unexpected ${body.method}` } };
    const r = await store.openRelay(body.params.key, body.params.port, body.params.bind);
    if (r.ok) opened?.(r.value.port);
    return r.ok ? { ok: true as const, result: r.value } : r;
  };
}

const connects = (host: string, port: number) =>
  new Promise<boolean>((resolve) => {
    const s = netConnect({ host, port }, () => (s.destroy(), resolve(true)));
    s.on('error', () => resolve(false));
  });

test('openRelays: a relay listens only on the address the other hosts are given, not on every interface', async () => {
  const stores = [1, 2].map((i) => new BlobStore(() => {}, undefined, join(work, `bind-${process.pid}-${i}`)));
  everyStore.push(...stores);
  const ports: number[] = [];
  const warnings: RelayWarning[] = [];
  // h1's interfaces are 127.0.0.1, h2's 127.0.0.2 (both loopback here, so both can listen).
  const broker = await openRelays(
    stores.map((store, i) => ({ host: `h${i + 1}`, vars: {}, request: loopbackAgent(store, `127.0.0.${i + 1}`, (p) => (ports[i] = p)) })),
    (w) => warnings.push(w),
  );
  assert.ok(broker, JSON.stringify(warnings));
  assert.is(await connects('127.0.0.1', ports[0]), true, 'h1 answers where h2 is told to dial');
  assert.is(await connects('127.0.0.2', ports[0]), false, 'and nowhere else');
  assert.is(await connects('127.0.0.1', ports[1]), false, 'h2 listens on its own address only');
  const s = 'e'.repeat(64);
  broker!.route('h1', s, RELAY_MIN_BYTES, {});
  assert.equal(broker!.route('h2', s, RELAY_MIN_BYTES, {}), { host: 'h1', address: '127.0.0.1', port: ports[0], size: RELAY_MIN_BYTES });
});

test('a real agent closes its relay as soon as the run ends, even while its last task still runs', async () => {
  process.env.BERTH_HOST_DIR = join(work, `agent-host-${process.pid}`);
  const transport = localTransport();
  const started = await startAgent(transport, { become: false, host: 'local' });
  if (!started.ok) throw new Error(started.error.message);
  const client = started.value.client;
  const opened = await client.request({ method: 'relay.open', params: { key: 'a'.repeat(64), port: 0, bind: ['127.0.0.1'] } }).done;
  if (!opened.ok) throw new Error(opened.error.message);
  const port = (opened.result as RelayEndpoint).port;
  assert.is(await connects('127.0.0.1', port), true, 'open while the run lasts');
  const plan: HostPlan = { host: 'local', check: false, diff: false, tasks: [{ index: 0, name: 'slow', module: 'command', params: ['sleep', '3'] }], handlers: [], vars: {}, secrets: [] };
  const run = client.request({ method: 'run', params: plan }).done;
  await new Promise((r) => setTimeout(r, 300));
  const t0 = Date.now();
  client.bye();
  let closedAfter: number | undefined;
  while (Date.now() - t0 < 2000 && closedAfter === undefined) {
    if (!(await connects('127.0.0.1', port))) closedAfter = Date.now() - t0;
    else await new Promise((r) => setTimeout(r, 50));
  }
  await run;
  transport.close();
  assert.ok(closedAfter !== undefined, 'the relay still answered 2 s after the bye (the task sleeps 3 s)');
});

test('openRelays: a berth_relay_port that is no port is warned about, and that relay takes any free port', async () => {
  const stores = [1, 2].map((i) => new BlobStore(() => {}, undefined, join(work, `ports-${process.pid}-${i}`)));
  everyStore.push(...stores);
  const warnings: RelayWarning[] = [];
  const broker = await openRelays(
    stores.map((store, i) => ({
      host: `h${i + 1}`,
      vars: i === 0 ? { berth_relay_port: 'http' } : {},
      // The agent's own handling of the relay requests, with loopback addresses of its own.
      request: loopbackAgent(store, `127.0.0.${i + 1}`),
    })),
    (w) => warnings.push(w),
  );
  assert.ok(broker, 'both relays opened');
  assert.equal(warnings.map((w) => [w.host, w.code]), [['h1', 'relay.bad-port']]);
  assert.match(warnings[0].message, /berth_relay_port is "http", not a port/);
});

test.after(() => {
  for (const s of everyStore) s.closeRelay();
  rmSync(work, { recursive: true, force: true });
});

test.run();
