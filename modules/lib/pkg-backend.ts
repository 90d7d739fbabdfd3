// What the package module needs from a package manager. apt is the one berth runs on (Debian,
// Ubuntu, the lab); dnf and apk follow the same shape.
import type { WireError } from '../../protocol/agent-protocol.js';
import type { ApplyResult, ModuleContext } from '../contract.js';

export type Versions = Map<string, string | undefined>;
export type Read<T> = { ok: true; value: T } | { ok: false; error: WireError };

export interface PkgBackend {
  name: 'apt' | 'dnf' | 'apk';
  /** Installed version of each package (undefined: not installed), from the package database. */
  installed(names: string[]): Promise<Read<Versions>>;
  /** The version an install would pick from the current package lists (undefined: none). */
  candidates(names: string[]): Promise<Read<Versions>>;
  /** Age of the package lists in ms; undefined when they were never fetched. */
  cacheAgeMs(): Promise<number | undefined>;
  refresh(ctx: ModuleContext): Promise<ApplyResult>;
  install(names: string[], opts: { recommends?: boolean }, ctx: ModuleContext): Promise<ApplyResult>;
  remove(names: string[], opts: { purge?: boolean }, ctx: ModuleContext): Promise<ApplyResult>;
}

/** Splits "name=1.2-3" into the name and the pinned version. */
export function splitPin(spec: string): { name: string; version?: string } {
  const at = spec.indexOf('=');
  return at > 0 ? { name: spec.slice(0, at), version: spec.slice(at + 1) } : { name: spec };
}
