// Which reporter shows a run: the live ink view on an interactive terminal, plain lines for
// pipes, logs and CI, JSON events for machines. Only the live view loads ink, and only here,
// by dynamic import: `berth --help`, `--json` and plain runs never pay its start-up.
import { jsonReporter } from './json.js';
import { plainReporter } from './plain.js';
import type { Reporter } from './reporter.js';

export type { Reporter } from './reporter.js';

export type ReporterKind = 'live' | 'plain' | 'json';

export interface ReporterFlags {
  json?: boolean;
  plain?: boolean;
  verbose?: boolean;
}

type Env = Record<string, string | undefined>;

/** CI systems set CI (or CONTINUOUS_INTEGRATION); `CI=false` and `CI=0` mean "not CI". */
export const inCi = (env: Env): boolean => ['CI', 'CONTINUOUS_INTEGRATION'].some((k) => k in env && env[k] !== '0' && env[k] !== 'false');

export function chooseReporter(flags: ReporterFlags, env: Env = process.env, isTTY = !!process.stdout.isTTY): ReporterKind {
  if (flags.json) return 'json';
  if (flags.plain || !isTTY || inCi(env) || env.TERM === 'dumb') return 'plain';
  return 'live';
}

/** Colours in plain lines only where a person reads them, and never against NO_COLOR. */
export const plainColor = (env: Env = process.env, isTTY = !!process.stdout.isTTY): boolean => isTTY && !inCi(env) && !('NO_COLOR' in env);

export async function openReporter(flags: ReporterFlags): Promise<Reporter> {
  const kind = chooseReporter(flags);
  if (kind === 'json') return { sink: jsonReporter(), close: async () => {} };
  if (kind === 'plain') return { sink: plainReporter({ verbose: !!flags.verbose, color: plainColor() }), close: async () => {} };
  const { renderRun } = await import('../ui/render-run.js');
  return renderRun({ verbose: !!flags.verbose });
}
