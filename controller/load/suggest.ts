// "Did you mean ...?" for misspelled keys, values and references.
import { distance } from 'fastest-levenshtein';

/** The closest candidate when it is close enough to be a likely typo, else undefined. */
export function closest(word: string, candidates: Iterable<string>): string | undefined {
  // Nobody mistypes a name this long, and edit distance is quadratic in it.
  if (word.length > MAX_NAME) return undefined;
  const lower = word.toLowerCase();
  const limit = Math.max(1, Math.floor(word.length / 3));
  let best: string | undefined;
  let bestScore = Infinity;
  let bestShared = -1;
  for (const c of candidates) {
    // The lengths alone put it out of reach (edit distance is at least their difference).
    if (Math.abs(c.length - word.length) > limit) continue;
    const cl = c.toLowerCase();
    // Case slips and `-` vs `_` count as no distance at all: `Image`, `read-only`.
    const d = cl === lower || cl.replace(/-/g, '_') === lower.replace(/-/g, '_') ? 0 : distance(lower, cl);
    // On a tie, the candidate with more letters in common wins: `taks` is `tasks`, not `tags`.
    const s = sharedLetters(lower, cl);
    if (d < bestScore || (d === bestScore && s > bestShared)) {
      best = c;
      bestScore = d;
      bestShared = s;
    }
  }
  return best !== undefined && bestScore <= limit ? best : undefined;
}

export const didYouMean = (word: string, candidates: Iterable<string>): string | undefined => {
  const c = closest(word, candidates);
  return c === undefined ? undefined : `did you mean ${JSON.stringify(c)}?`;
};

/** `a, b, c and 12 more`: a list short enough for a hint line. */
export function shortList(items: string[], max = 12): string {
  const shown = items.slice(0, max).map(oneName);
  return items.length <= max ? shown.join(', ') : `${shown.join(', ')} and ${items.length - max} more`;
}

const MAX_NAME = 100;

/** A name from the playbook as a hint shows it: on one line, and cut when it is long. */
function oneName(name: string): string {
  const line = /[\u0000-\u001f\u007f-\u009f]/.test(name) ? JSON.stringify(name).slice(1, -1) : name;
  return line.length > MAX_NAME ? `${line.slice(0, MAX_NAME - 3)}...` : line;
}

function sharedLetters(a: string, b: string): number {
  const counts = new Map<string, number>();
  for (const ch of a) counts.set(ch, (counts.get(ch) ?? 0) + 1);
  let n = 0;
  for (const ch of b) {
    const left = counts.get(ch) ?? 0;
    if (left > 0) {
      n++;
      counts.set(ch, left - 1);
    }
  }
  return n;
}
