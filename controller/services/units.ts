// Compose's ways of writing sizes, durations and CPU amounts, turned into plain numbers. Docker
// reads every memory unit as a power of 1024 ("64m" = 64 MiB, "1gb" = 1 GiB), and so does berth.
import { parseDuration } from '../../modules/lib/duration.js';

const POWER: Record<string, number> = { '': 0, b: 0, k: 1, m: 2, g: 3, t: 4 };

/** Bytes, or undefined when the text is not a size. */
export function parseBytes(v: string | number): number | undefined {
  if (typeof v === 'number') return Number.isFinite(v) && v >= 0 ? Math.floor(v) : undefined;
  const m = /^(\d+(?:\.\d+)?)\s*([bkmgt]?)(?:i?b)?$/i.exec(v.trim());
  if (!m) return undefined;
  return Math.floor(Number(m[1]) * 1024 ** POWER[m[2].toLowerCase()]);
}

/** Milliseconds of a duration ("30s", "1m30s", 5), or undefined. */
export const parseMs = (v: string | number): number | undefined => parseDuration(v);

/** Docker's NanoCpus for a CPU amount (0.5 -> 500000000), or undefined. */
export function parseNanoCpus(v: string | number): number | undefined {
  const n = typeof v === 'number' ? v : Number(v);
  return Number.isFinite(n) && n >= 0 ? Math.round(n * 1e9) : undefined;
}
