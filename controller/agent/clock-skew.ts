// A host's clock against this machine's, read from the agent's hello: it costs no round trip of
// its own. Registry TTLs, lock expiry and release times are written by one clock and read by
// another, so a host whose clock is off gets a warning (and the run goes on).

/** Skew beyond this is worth a warning: well above what NTP leaves, well below a TTL. */
export const CLOCK_SKEW_WARN_MS = 2000;

export interface ClockSkew {
  /** The host's clock minus this machine's; positive when the host is ahead. */
  skewMs: number;
  /** How far off skewMs may be: half the window in which the host took its reading. */
  uncertaintyMs: number;
}

/**
 * The agent read its clock (`clockMs`) as it sent the hello, `upMs` after its process began.
 * That process began after `spawnedAt` (this machine's clock, taken before asking the host to
 * start it) and the hello arrived at `receivedAt`, so the reading was taken, in this machine's
 * time, within [spawnedAt + upMs, receivedAt]: the rest of that window is the exec round trip,
 * the bootstrap shell and the hello's transit. The estimate is its midpoint.
 */
export function clockSkew(hello: { clockMs?: number; upMs?: number }, spawnedAt: number, receivedAt: number | undefined): ClockSkew | undefined {
  if (typeof hello.clockMs !== 'number' || receivedAt === undefined) return undefined;
  const span = Math.max(0, receivedAt - spawnedAt);
  // An age outside the window (a clock that jumped) narrows nothing.
  const up = typeof hello.upMs === 'number' && hello.upMs >= 0 && hello.upMs <= span ? hello.upMs : 0;
  const from = spawnedAt + up;
  return { skewMs: Math.round(hello.clockMs - (from + receivedAt) / 2), uncertaintyMs: Math.round((receivedAt - from) / 2) };
}

export interface SkewWarning {
  code: 'clock.skew';
  message: string;
  hint: string;
  skewMs: number;
}

/** A warning when the host's clock is off by more than CLOCK_SKEW_WARN_MS for certain (the uncertainty counted in its favour). */
export function skewWarning(host: string, skew: ClockSkew | undefined): SkewWarning | undefined {
  if (!skew || Math.abs(skew.skewMs) - skew.uncertaintyMs <= CLOCK_SKEW_WARN_MS) return undefined;
  const way = skew.skewMs > 0 ? 'ahead of' : 'behind';
  return {
    code: 'clock.skew',
    message: `${host}'s clock is ${roughly(Math.abs(skew.skewMs))} ${way} this machine's: TTLs, lock expiry and release times will be off`,
    hint: 'fix NTP on the host (systemd-timesyncd, chrony or ntpd), or on this machine if every host says so',
    skewMs: skew.skewMs,
  };
}

/** 37 s, 12 min, 5 h, 2 days: a person's sense of how far off. */
function roughly(ms: number): string {
  // Thresholds on the rounded figure: 2 days less the hello's transit is "2 days", not "48 h".
  const s = Math.round(ms / 1000);
  if (s < 120) return `${s} s`;
  const min = Math.round(s / 60);
  if (min < 120) return `${min} min`;
  const h = Math.round(s / 3600);
  if (h < 48) return `${h} h`;
  return `${Math.round(s / 86400)} days`;
}
