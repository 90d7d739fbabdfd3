// A service's health check in the form the agent runs it: durations in milliseconds, the exec
// command as argv, defaults filled in. Built from the playbook's `health:` block (schema/service.ts);
// a Compose `healthcheck:` needs nothing here, because Docker itself runs it and the agent only
// reads the status Docker reports (the `docker` probe).
import type { WireError } from '../../protocol/agent-protocol.js';
import { parseDuration } from '../../modules/lib/duration.js';
import type { Health } from '../../schema/service.js';

export interface HttpProbeSpec {
  port: number;
  path: string;
  /** Status codes that count as healthy; empty: any 2xx or 3xx. */
  status: number[];
  /** Text the body must contain. */
  body?: string;
  host?: string;
  scheme: 'http' | 'https';
}

export interface HealthSpec {
  http?: HttpProbeSpec;
  tcp?: { port: number };
  /** argv run inside the container; exit 0 is healthy. */
  exec?: string[];
  /** Also require the status of the container's own Docker HEALTHCHECK, when it has one. */
  docker: boolean;
  intervalMs: number;
  timeoutMs: number;
  /** Consecutive failures before a healthy instance counts as unhealthy (at least 1). */
  retries: number;
  /** After the container starts, failures during this time do not count. */
  startPeriodMs: number;
}

// Docker's own defaults are 30 s / 30 s / 3; a gate that waits 30 s between probes makes every
// rollout slow, so berth probes more often (Nomad and Consul users set seconds, too).
export const DEFAULT_HEALTH: HealthSpec = { docker: true, intervalMs: 2000, timeoutMs: 2000, retries: 3, startPeriodMs: 0 };

export type SpecResult = { ok: true; value: HealthSpec } | { ok: false; error: WireError };

const bad = (message: string): SpecResult => ({ ok: false, error: { code: 'health.spec', message } });

function ms(v: string | number | undefined, what: string, fallback: number): number | string {
  if (v === undefined) return fallback;
  const n = parseDuration(v);
  return n === undefined ? `health.${what}: "${String(v)}" is not a duration` : n;
}

/** The playbook's `health:` (rendered, so no templates left) as the agent runs it. */
export function normalizeHealth(h: Health | undefined): SpecResult {
  if (h === undefined) return { ok: true, value: { ...DEFAULT_HEALTH } };
  const interval = ms(h.interval, 'interval', DEFAULT_HEALTH.intervalMs);
  const timeout = ms(h.timeout, 'timeout', DEFAULT_HEALTH.timeoutMs);
  const start = ms(h.start_period, 'start_period', 0);
  for (const v of [interval, timeout, start]) if (typeof v === 'string') return bad(v);
  const spec: HealthSpec = {
    docker: true,
    intervalMs: Math.max(100, interval as number),
    timeoutMs: Math.max(100, timeout as number),
    retries: Math.max(1, h.retries ?? DEFAULT_HEALTH.retries),
    startPeriodMs: start as number,
  };
  if (h.http) {
    const st = h.http.status;
    spec.http = {
      port: h.http.port,
      path: h.http.path ?? '/',
      status: st === undefined ? [] : Array.isArray(st) ? st : [st],
      body: h.http.body,
      host: h.http.host,
      scheme: h.http.scheme ?? 'http',
    };
  }
  if (h.tcp) spec.tcp = { port: h.tcp.port };
  if (h.exec !== undefined) {
    // A string is a shell line, as in Compose's CMD-SHELL; a list is an argv.
    const argv = typeof h.exec === 'string' ? ['/bin/sh', '-c', h.exec] : h.exec;
    if (argv.length === 0) return bad('health.exec: the command is empty');
    spec.exec = argv;
  }
  return { ok: true, value: spec };
}

/** One line for a person: "http :80/healthz every 2s, 3 retries". */
export function describeHealth(s: HealthSpec): string {
  const probes = [
    s.http && `http :${s.http.port}${s.http.path}`,
    s.tcp && `tcp :${s.tcp.port}`,
    s.exec && `exec ${s.exec.join(' ')}`,
  ].filter(Boolean);
  const what = probes.length ? probes.join(' + ') : 'running (and its Docker HEALTHCHECK, if any)';
  return `${what} every ${s.intervalMs / 1000}s, ${s.retries} retries`;
}
