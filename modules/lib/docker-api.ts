// A minimal Docker Engine API call over the local unix socket, for facts that must not pay for
// loading a full client. Modules that manage containers use dockerode instead.
import { accessSync, constants } from 'node:fs';
import type { WireError } from '../../protocol/agent-protocol.js';

const SOCKET = process.env.DOCKER_SOCKET ?? '/var/run/docker.sock';

/** Whether this agent may talk to the engine at all: cheaper than a request that fails. */
export function dockerSocketUsable(): boolean {
  try {
    accessSync(SOCKET, constants.R_OK | constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

export async function dockerApi<T>(method: string, path: string, timeoutMs = 2000): Promise<{ ok: true; value: T } | { ok: false; error: WireError }> {
  // Loaded on first use: node:http is a noticeable part of the agent's start-up on hosts
  // that have no engine (or none this user may use).
  const { default: http } = await import('node:http');
  return new Promise((resolve) => {
    const req = http.request({ socketPath: SOCKET, method, path, timeout: timeoutMs }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => {
        if ((res.statusCode ?? 500) >= 400) return resolve({ ok: false, error: { code: 'docker.api', message: `${method} ${path}: ${res.statusCode} ${body.trim()}` } });
        try {
          resolve({ ok: true, value: JSON.parse(body) as T });
        } catch {
          resolve({ ok: false, error: { code: 'docker.api', message: `${method} ${path}: unreadable answer` } });
        }
      });
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', (e) => resolve({ ok: false, error: { code: 'docker.unreachable', message: e.message } }));
    req.end();
  });
}
