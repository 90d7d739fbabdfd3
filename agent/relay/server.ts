// This host's relay: serves content it received during the run (spool.ts) to other hosts of the
// run that hold the run's key, while it arrives. Opened by the controller's `relay.open`.
import { networkInterfaces } from 'node:os';
import { createServer, type Server, type TLSSocket } from 'node:tls';
import type { RelayEndpoint } from '../../protocol/agent-protocol.js';
import type { Spool } from './spool.js';
import { serverTls, type RelayAnswer, type RelayAsk } from './tls-psk.js';

/** A request line longer than this is not one of ours. */
const MAX_ASK_BYTES = 1024;

export class RelayServer {
  private constructor(
    private readonly servers: Server[],
    private readonly sockets: Set<TLSSocket>,
    readonly port: number,
    readonly addresses: string[],
  ) {}

  /**
   * Listens on `bind` only: the addresses the controller gives the other hosts, never every
   * interface (a relay on a public address would be one more thing on the internet to probe).
   * `port` 0: a free port, the same on every address. `find`: the spool holding a sha256, when
   * this host has or is receiving shareable content of that hash.
   */
  static async open(key: Buffer, port: number, bind: string[], find: (sha256: string) => Spool | Promise<Spool | undefined> | undefined): Promise<{ ok: true; value: RelayServer } | { ok: false; message: string }> {
    const servers: Server[] = [];
    const sockets = new Set<TLSSocket>();
    let at = port;
    for (const host of bind) {
      const r = await listen(key, at, host, find, sockets);
      if (!r.ok) {
        for (const s of servers) s.close();
        return r;
      }
      servers.push(r.server);
      at = r.port;
    }
    return { ok: true, value: new RelayServer(servers, sockets, at, bind) };
  }

  /** Stops listening and cuts the transfers under way: the run is over, so is serving peers. */
  close(): void {
    for (const s of this.servers) s.close();
    for (const socket of this.sockets) socket.destroy();
  }
}

function listen(key: Buffer, port: number, host: string, find: (sha256: string) => Spool | Promise<Spool | undefined> | undefined, sockets: Set<TLSSocket>): Promise<{ ok: true; server: Server; port: number } | { ok: false; message: string }> {
  return new Promise((resolve) => {
    const server = createServer(serverTls(key), (socket) => {
      sockets.add(socket);
      socket.once('close', () => sockets.delete(socket));
      void serveOne(socket, find);
    });
    // A handshake with the wrong key is that peer's problem, not this agent's.
    server.on('tlsClientError', () => {});
    server.once('error', (e) => resolve({ ok: false, message: `cannot listen on ${host} port ${port}: ${e.message}` }));
    server.listen(port, host, () => {
      server.removeAllListeners('error');
      server.on('error', () => {});
      const addr = server.address();
      resolve({ ok: true, server, port: typeof addr === 'object' && addr ? addr.port : port });
    });
  });
}

async function serveOne(socket: TLSSocket, find: (sha256: string) => Spool | Promise<Spool | undefined> | undefined): Promise<void> {
  socket.setTimeout(60_000, () => socket.destroy());
  socket.on('error', () => {});
  const ask = await readAsk(socket);
  if (!ask) return void socket.destroy();
  // Content on its way here whose first piece has not come yet is waited for.
  const spool = await find(ask.sha256);
  const answer = (a: RelayAnswer) => socket.write(JSON.stringify(a) + '\n');
  if (!spool) {
    answer({ ok: false, message: `this host has no content ${ask.sha256.slice(0, 12)} to relay` });
    return void socket.end();
  }
  answer({ ok: true });
  try {
    for await (const piece of spool.read(ask.from)) {
      if (socket.destroyed) return;
      if (!socket.write(piece)) await drainOrClose(socket);
    }
    socket.end();
  } catch {
    // The content failed here: cut the connection short, the peer falls back to the controller.
    socket.destroy();
  }
}

function drainOrClose(socket: TLSSocket): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      socket.off('drain', done).off('close', done);
      resolve();
    };
    socket.on('drain', done).on('close', done);
  });
}

function readAsk(socket: TLSSocket): Promise<RelayAsk | undefined> {
  return new Promise((resolve) => {
    let text = '';
    const onData = (d: Buffer) => {
      text += d.toString('utf8');
      const nl = text.indexOf('\n');
      if (nl < 0 && text.length < MAX_ASK_BYTES) return;
      socket.off('data', onData);
      socket.pause();
      try {
        const a = JSON.parse(text.slice(0, nl)) as RelayAsk;
        resolve(/^[0-9a-f]{64}$/.test(a.sha256) && Number.isInteger(a.from) && a.from >= 0 ? a : undefined);
      } catch {
        resolve(undefined);
      }
    };
    socket.on('data', onData);
    socket.once('close', () => resolve(undefined));
  });
}

/** Addresses other hosts may reach this one at: no loopback, no IPv6 link-local (they need a scope). */
export function hostAddresses(): RelayEndpoint['addresses'] {
  const out: RelayEndpoint['addresses'] = [];
  for (const [iface, list] of Object.entries(networkInterfaces())) {
    for (const a of list ?? []) {
      if (a.internal || (a.family === 'IPv6' && /^fe80:/i.test(a.address))) continue;
      out.push({ address: a.address, family: a.family, cidr: a.cidr ?? `${a.address}/${a.family === 'IPv4' ? 32 : 128}`, iface });
    }
  }
  return out;
}
