// Masking of secret values, the same on both sides: the agent masks what it sends with the
// secrets its plan carries, the controller masks every event again with all of the run's.
// Masking works on the strings inside a value, never on its JSON: a secret "42" or "type"
// must not reach into numbers or keys.

/** What a secret looks like in any output, event or log. */
export const SECRET_MASK = '********';

/**
 * A line of a multi-line secret shorter than this (a lone `}` or `-----`) is not masked on its
 * own: it would hide ordinary output everywhere. The secret whole is always masked.
 */
export const MIN_SECRET_LINE = 4;

/**
 * What to look for: each secret whole, and each line of a multi-line one (trimmed: output
 * comes line by line, often re-indented), longest first so that a longer needle is masked whole.
 */
export function secretNeedles(secrets: readonly string[] | undefined): string[] {
  const out = new Set<string>();
  for (const s of secrets ?? []) {
    if (!s) continue;
    out.add(s);
    if (!/[\r\n]/.test(s)) continue;
    for (const line of s.split(/\r?\n|\r/)) {
      const t = line.trim();
      if (t.length >= MIN_SECRET_LINE) out.add(t);
    }
  }
  return [...out].sort((a, b) => b.length - a.length);
}

/** A function that masks every needle of these secrets in a text. */
export function masker(secrets: readonly string[] | undefined): (text: string) => string {
  const needles = secretNeedles(secrets);
  if (needles.length === 0) return (text) => text;
  return (text) => {
    let out = text;
    for (const n of needles) if (out.includes(n)) out = out.split(n).join(SECRET_MASK);
    return out;
  };
}

/** Replaces every occurrence of each secret (and of each line of a multi-line one). */
export function maskSecrets(text: string, secrets: readonly string[] | undefined): string {
  return masker(secrets)(text);
}

/**
 * The strings inside a value, masked; keys, numbers and booleans are left alone, and so are the
 * values of the `keep` keys (fields whose words the program reads: an event's type, a status).
 */
export function maskDeep<T>(value: T, mask: (text: string) => string, keep: ReadonlySet<string> = new Set()): T {
  const walk = (v: unknown): unknown => {
    if (typeof v === 'string') return mask(v);
    if (Array.isArray(v)) return v.map(walk);
    if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, keep.has(k) ? x : walk(x)]));
    return v;
  };
  return walk(value) as T;
}

/**
 * What replaces a diff that would show a secret (content rendered from one): a line naming the
 * file, read off the diff's own header.
 */
export function secretDiffNote(diff: string): string {
  const header = (mark: string) => new RegExp(`^${mark} (.*)$`, 'm').exec(diff)?.[1]?.replace(/ \((before|after)\)$/, '');
  const to = header('\\+\\+\\+');
  const path = to && to !== '/dev/null' ? to : header('---');
  return `${path && path !== '/dev/null' ? `${path}: ` : ''}diff not shown (the content comes from a secret)\n`;
}
