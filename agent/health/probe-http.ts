// The http probe: one GET, healthy when the status is an expected one (any 2xx/3xx unless the
// check names codes) and the body contains the expected text. The output says what was seen,
// because that is what a person reads when a rollout stops on it.
import http from 'node:http';
import https from 'node:https';
import type { HttpProbeSpec } from './spec.js';
import type { ProbeOutcome } from './outcome.js';

const MAX_BODY = 64 * 1024;

export function httpProbe(host: string, port: number, spec: HttpProbeSpec, timeoutMs: number, signal?: AbortSignal): Promise<ProbeOutcome> {
  const where = `${spec.scheme}://${host.includes(':') ? `[${host}]` : host}:${port}${spec.path}`;
  return new Promise((resolve) => {
    let done = false;
    const finish = (o: ProbeOutcome) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      req.destroy();
      resolve(o);
    };
    const mod = spec.scheme === 'https' ? https : http;
    const req = mod.request(
      {
        host,
        port,
        path: spec.path,
        method: 'GET',
        headers: { 'user-agent': 'berth-health', ...(spec.host ? { host: spec.host } : {}), connection: 'close' },
        // Health endpoints of internal services rarely carry certificates for their IP.
        rejectUnauthorized: false,
        agent: false,
        signal,
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => {
          if (body.length < MAX_BODY) body += d;
        });
        res.on('end', () => {
          const code = res.statusCode ?? 0;
          const statusOk = spec.status.length ? spec.status.includes(code) : code >= 200 && code < 400;
          const bodyOk = spec.body === undefined || body.includes(spec.body);
          const snippet = body.trim().replace(/\s+/g, ' ').slice(0, 200);
          const expected = spec.status.length ? spec.status.join('/') : '2xx/3xx';
          if (!statusOk) return finish({ ok: false, output: `GET ${where}: HTTP ${code}, expected ${expected}${snippet ? `: ${snippet}` : ''}` });
          if (!bodyOk) return finish({ ok: false, output: `GET ${where}: HTTP ${code} but the body lacks ${JSON.stringify(spec.body)}${snippet ? `: ${snippet}` : ''}` });
          finish({ ok: true, output: `GET ${where}: HTTP ${code}` });
        });
        res.on('error', (e) => finish({ ok: false, output: `GET ${where}: ${e.message}` }));
      },
    );
    const timer = setTimeout(() => finish({ ok: false, output: `GET ${where}: no answer within ${timeoutMs} ms` }), timeoutMs);
    req.on('error', (e) => finish({ ok: false, output: `GET ${where}: ${e.message}` }));
    req.end();
  });
}
