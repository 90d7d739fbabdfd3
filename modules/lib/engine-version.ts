// Docker Engine versions as packages and the API print them ("20.10.24+dfsg1", "24.0.7",
// "26.1.3-1"): only the leading numbers count when comparing against a playbook's min_version.
import { capture } from './exec.js';

export function parseVersion(v: string): number[] | undefined {
  const m = /^\s*v?(\d+)(?:\.(\d+))?(?:\.(\d+))?/.exec(v);
  return m ? [Number(m[1]), Number(m[2] ?? 0), Number(m[3] ?? 0)] : undefined;
}

/** Negative when a < b, 0 when equal, positive when a > b (missing parts count as 0). */
export function compareVersions(a: string, b: string): number {
  const x = parseVersion(a) ?? [0, 0, 0];
  const y = parseVersion(b) ?? [0, 0, 0];
  for (let i = 0; i < 3; i++) if (x[i] !== y[i]) return x[i] - y[i];
  return 0;
}

/** The installed dockerd's version without a running engine (`dockerd --version`). */
export async function dockerdBinaryVersion(): Promise<string | undefined> {
  const r = await capture(['dockerd', '--version']);
  if (r.code !== 0) return undefined;
  return /version\s+([^\s,]+)/i.exec(r.stdout)?.[1];
}
