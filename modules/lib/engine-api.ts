// Is the engine there? One cheap Engine API call on the local socket answers it, and the same
// call gives the version berth reports. Waiting polls it, so "started" means "answers", not
// "a process exists".
import { dockerApi } from './docker-api.js';

export interface EngineInfo {
  version: string;
  apiVersion: string;
  os: string;
  arch: string;
}

export async function engineInfo(timeoutMs = 2000): Promise<EngineInfo | undefined> {
  const r = await dockerApi<{ Version: string; ApiVersion: string; Os: string; Arch: string }>('GET', '/version', timeoutMs);
  return r.ok ? { version: r.value.Version, apiVersion: r.value.ApiVersion, os: r.value.Os, arch: r.value.Arch } : undefined;
}

/** Polls until the engine answers or `timeoutMs` passed; undefined on timeout or cancel. */
export async function waitForEngine(timeoutMs: number, signal?: AbortSignal, stillWorth?: () => boolean): Promise<EngineInfo | undefined> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const info = await engineInfo(1000);
    if (info) return info;
    if (Date.now() >= until || signal?.aborted || (stillWorth && !stillWorth())) return undefined;
    await new Promise((r) => setTimeout(r, 250));
  }
}
