// sshd is ready when it greets. A published port alone proves nothing: docker-proxy accepts the
// connection even while nothing listens in the container yet, then closes it.
import { connect } from 'node:net';

function greets(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host, port });
    let buf = '';
    const done = (v: boolean) => {
      s.destroy();
      resolve(v);
    };
    s.setTimeout(3000, () => done(false));
    s.on('data', (d) => {
      buf += d.toString('latin1');
      if (buf.startsWith('SSH-')) done(true);
      else if (buf.length >= 4) done(false);
    });
    s.on('error', () => done(false));
    s.on('close', () => done(false));
  });
}

export async function waitForSsh(host: string, port: number, timeoutMs: number): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (await greets(host, port)) return true;
    await new Promise((r) => setTimeout(r, 150));
  }
  return false;
}
