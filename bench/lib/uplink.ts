// A controller's uplink of a given bandwidth, for benchmarks on one machine, where every lab host
// is a loopback hop away and bandwidth is never the limit: a TCP forwarder per lab host, all
// sharing one token bucket for the bytes going to the hosts (answers come back unthrottled).
// Traffic between lab hosts does not pass here, as in a datacenter where the hosts share a LAN
// and the operator's machine is far away.
import { createServer, connect, type Server, type Socket } from 'node:net';

export interface Uplink {
  /** Local port standing for each target port. */
  ports: Map<number, number>;
  close(): void;
}

export async function throttledUplink(targets: number[], bytesPerSecond: number): Promise<Uplink> {
  // When the shared link is free again (ms, performance clock).
  let freeAt = 0;
  const servers: Server[] = [];
  const sockets = new Set<Socket>();
  const ports = new Map<number, number>();
  for (const target of targets) {
    const server = createServer((client) => {
      const upstream = connect(target, '127.0.0.1');
      for (const s of [client, upstream]) {
        sockets.add(s);
        s.on('close', () => sockets.delete(s));
        s.on('error', () => {
          client.destroy();
          upstream.destroy();
        });
      }
      upstream.pipe(client);
      // One chunk in flight per connection: the client is paused until its chunk went through.
      let sent = Promise.resolve();
      client.on('data', (chunk: Buffer) => {
        // The chunk takes the link for len/rate after whatever is queued before it.
        const now = performance.now();
        freeAt = Math.max(freeAt, now) + (chunk.length / bytesPerSecond) * 1000;
        const wait = freeAt - now;
        client.pause();
        sent = sent
          .then(() => new Promise((r) => setTimeout(r, Math.max(0, wait))))
          .then(() => {
            upstream.write(chunk);
            client.resume();
          });
      });
      client.on('end', () => void sent.then(() => upstream.end()));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    servers.push(server);
    ports.set(target, (server.address() as { port: number }).port);
  }
  return {
    ports,
    close: () => {
      for (const s of sockets) s.destroy();
      for (const s of servers) s.close();
    },
  };
}
