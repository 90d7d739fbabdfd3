// The tcp probe: healthy when the port accepts a connection within the timeout.
import net from 'node:net';
import type { ProbeOutcome } from './outcome.js';

export function tcpProbe(host: string, port: number, timeoutMs: number): Promise<ProbeOutcome> {
  const where = `${host}:${port}`;
  return new Promise((resolve) => {
    const sock = net.connect({ host, port });
    const finish = (o: ProbeOutcome) => {
      clearTimeout(timer);
      sock.destroy();
      resolve(o);
    };
    const timer = setTimeout(() => finish({ ok: false, output: `tcp ${where}: no connection within ${timeoutMs} ms` }), timeoutMs);
    sock.once('connect', () => finish({ ok: true, output: `tcp ${where}: connected` }));
    sock.once('error', (e) => finish({ ok: false, output: `tcp ${where}: ${e.message}` }));
  });
}
