// The Docker CLI as the lab uses it: one binary, one environment, argv arrays.
import { run, type RunOptions, type RunResult } from './run.js';

export interface Engine {
  /** The docker CLI binary. */
  cli: string;
  env: NodeJS.ProcessEnv;
  /** `berth-privfix` where privileged containers need the capability fix, else undefined. */
  runtime?: string;
}

export const docker = (e: Engine, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> =>
  run([e.cli, ...args], { env: e.env, ...opts });

/** Ids (or names) printed one per line. */
export const lines = (s: string): string[] => s.split('\n').map((l) => l.trim()).filter(Boolean);
