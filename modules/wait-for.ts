// `wait_for`: waits until a TCP port opens or closes, or a path appears or goes (optionally
// with content matching a regexp). Waiting changes nothing, so it reports ok when the condition
// holds; in check mode, where earlier tasks did not run, it looks once instead of waiting.
import { existsSync, readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { converged, defineModule, failed } from './contract.js';
import { parseDuration } from './lib/duration.js';
import { waitForSchema, type WaitForParams } from './params/wait-for.js';

export { waitForSchema, type WaitForParams };

export const waitFor = defineModule({
  name: 'wait_for',
  schema: waitForSchema,
  async plan(p, ctx) {
    if ((p.port === undefined) === (p.path === undefined)) return failed('wait_for.target', 'wait_for needs exactly one of port or path');
    const ms: Record<string, number | undefined> = {};
    for (const [k, v, d] of [['timeout', p.timeout, 300], ['delay', p.delay, 0], ['sleep', p.sleep, 0.5]] as const) {
      ms[k] = parseDuration(v ?? d);
      if (ms[k] === undefined) return failed('wait_for.bad-duration', `${k} "${v}" is not a duration (like "30s", "2m" or a number of seconds)`);
    }
    const positive = p.state === undefined || p.state === 'started' || p.state === 'present';
    let re: RegExp | undefined;
    try {
      re = p.search_regex ? new RegExp(p.search_regex, 'm') : undefined;
    } catch (e) {
      return failed('wait_for.bad-regexp', `search_regex is not a valid regular expression: ${(e as Error).message}`);
    }
    const host = p.host ?? '127.0.0.1';
    const what = p.port !== undefined ? `port ${host}:${p.port} to ${positive ? 'accept connections' : 'close'}` : `${p.path} to ${positive ? (re ? `match /${p.search_regex}/` : 'exist') : 'be absent'}`;
    const holds = async () => (p.port !== undefined ? (await portOpen(host, p.port, 1000)) === positive : pathHolds(p.path!, re) === positive);

    if (ctx.check) {
      if (await holds()) return converged({ waitedMs: 0 });
      return { ok: true, changes: [{ summary: `wait up to ${ms.timeout! / 1000}s for ${what}`, cause: 'does not hold now', apply: async () => ({ ok: true }) }] };
    }
    const t0 = Date.now();
    if (ms.delay) await sleep(ms.delay, undefined, { signal: ctx.signal }).catch(() => {});
    for (;;) {
      if (await holds()) return converged({ waitedMs: Date.now() - t0 });
      if (ctx.signal.aborted) return failed('wait_for.cancelled', `cancelled while waiting for ${what}`);
      if (Date.now() - t0 >= ms.timeout!) return failed('wait_for.timeout', `timed out after ${ms.timeout! / 1000}s waiting for ${what}`);
      await sleep(Math.min(ms.sleep!, Math.max(0, ms.timeout! - (Date.now() - t0))), undefined, { signal: ctx.signal }).catch(() => {});
    }
  },
});

function pathHolds(path: string, re: RegExp | undefined): boolean {
  if (!existsSync(path)) return false;
  if (!re) return true;
  try {
    return re.test(readFileSync(path, 'utf8'));
  } catch {
    return false;
  }
}

/** True when a TCP connection succeeds; false when refused, unreachable or too slow. */
function portOpen(host: string, port: number, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host, port });
    const done = (v: boolean) => {
      s.destroy();
      resolve(v);
    };
    s.setTimeout(timeoutMs, () => done(false));
    s.once('connect', () => done(true));
    s.once('error', () => done(false));
  });
}
