// Plain Engine API calls on the local socket for the reads and small writes of image work
// (inspect, list, tag, remove). Loading dockerode costs about a second on a busy host (it pulls
// in gRPC for BuildKit sessions), which a no-change run should not pay: dockerode is loaded only
// for the streaming calls (build, load, pull, push).
import http from 'node:http';

const SOCKET = process.env.DOCKER_SOCKET ?? '/var/run/docker.sock';

export interface ApiAnswer {
  status: number;
  body: string;
}

export type ApiResult = { ok: true; value: ApiAnswer } | { ok: false; code: string; message: string };

export function engineCall(method: string, path: string, opts: { timeoutMs?: number; headers?: Record<string, string> } = {}): Promise<ApiResult> {
  return new Promise((resolve) => {
    const req = http.request({ socketPath: SOCKET, method, path, timeout: opts.timeoutMs ?? 30_000, headers: opts.headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ ok: true, value: { status: res.statusCode ?? 0, body } }));
    });
    req.on('timeout', () => req.destroy(Object.assign(new Error(`no answer within ${opts.timeoutMs ?? 30_000} ms`), { code: 'ETIMEDOUT' })));
    req.on('error', (e: NodeJS.ErrnoException) => resolve({ ok: false, code: e.code ?? 'EIO', message: e.message }));
    req.end();
  });
}

/** The engine's message in an error answer ({"message": "..."}), or the raw body. */
export function answerMessage(a: ApiAnswer): string {
  try {
    return ((JSON.parse(a.body) as { message?: string }).message ?? a.body).trim();
  } catch {
    return a.body.trim() || `HTTP ${a.status}`;
  }
}

/** A reference in a URL path: slashes stay (the API routes on them), the rest is escaped. */
export const refPath = (ref: string) => ref.split('/').map(encodeURIComponent).join('/');
