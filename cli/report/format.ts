// Small text helpers shared by the plain reporter and the live view, so both say the same thing
// the same way (durations, sizes, exit words, diff lines).
import type { ChangeReport } from '../../protocol/agent-protocol.js';

export const ms = (n: number): string => (n < 1000 ? `${Math.round(n)} ms` : n < 60_000 ? `${(n / 1000).toFixed(1)} s` : `${Math.floor(n / 60_000)} m ${Math.round((n % 60_000) / 1000)} s`);

export const bytes = (n: number): string => (n < 1e6 ? `${(n / 1e3).toFixed(1)} kB` : n < 1e9 ? `${(n / 1e6).toFixed(1)} MB` : `${(n / 1e9).toFixed(2)} GB`);

export const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;

/** The last line of a run: what the exit code means, in words. */
export function exitWords(code: number): string {
  switch (code) {
    case 0:
      return 'done';
    case 1:
      return 'failed: a task failed on at least one host (exit 1)';
    case 2:
      return 'bad input: nothing was changed on any host (exit 2)';
    case 3:
      return 'incomplete: at least one host was unreachable (exit 3)';
    case 4:
      return 'rollout reverted or halted (exit 4)';
    case 130:
      return 'cancelled (exit 130)';
    default:
      return `ended with exit ${code}`;
  }
}

/** A text progress bar; without a total there is nothing to measure, so no bar. */
export function bar(done: number, total: number | undefined, width: number): string {
  if (!total || total <= 0) return '';
  const f = Math.max(0, Math.min(1, done / total));
  const full = Math.round(f * width);
  return '█'.repeat(full) + '░'.repeat(width - full);
}

/** `12.0/23.1 MB` for byte-sized progress, `3/10` for counts. */
export function progressText(label: string, done: number, total?: number): string {
  const pct = total ? ` ${Math.floor((100 * Math.min(done, total)) / total)}%` : '';
  const sized = total !== undefined ? total > 10_000 : done > 10_000;
  const amount = sized ? (total !== undefined ? `${bytes(done)} of ${bytes(total)}` : bytes(done)) : total !== undefined ? `${done}/${total}` : String(done);
  return `${label} ${amount}${pct}`;
}

export type DiffLine = 'head' | 'hunk' | 'add' | 'del' | 'same';

export function diffLine(line: string): DiffLine {
  if (line.startsWith('+++') || line.startsWith('---')) return 'head';
  if (line.startsWith('@@')) return 'hunk';
  if (line.startsWith('+')) return 'add';
  if (line.startsWith('-')) return 'del';
  return 'same';
}

/** `+` creates, `-` removes, `~` changes something that exists: the plan's margin. */
export function changeMark(c: ChangeReport): '+' | '-' | '~' {
  if (c.cause === 'missing') return '+';
  if (/^(remove|purge|delete|stop|disable)\b/.test(c.summary)) return '-';
  return '~';
}

/**
 * A module that crashed sends its stack with the message: that is for the debug log, not for the
 * operator's screen (unless --debug asked for it).
 */
export function withoutStack(message: string, debug = false): string {
  const lines = message.split('\n');
  const first = lines.findIndex((l) => /^\s+at \S/.test(l));
  if (debug || first < 0) return message;
  // The stack's own header (`TypeError: ...`) sits right above its first frame.
  const head = first > 0 && /^\w*Error\b/.test(lines[first - 1]!) ? first - 1 : first;
  const kept = lines.filter((l, i) => i < head || (i > head && !/^\s+at \S/.test(l) && !(i >= first && l.trim() === '')));
  return [...kept, '(stack trace hidden: rerun with --debug to see it)'].join('\n');
}

export const isDebug = (): boolean => process.argv.includes('--debug') || process.env.BERTH_DEBUG === '1';

/**
 * A line a program printed, made safe to draw inside a frame: its own colours, cursor moves and
 * carriage returns would break the rows around it.
 */
export const screenSafe = (line: string): string =>
  line
    .replace(/\x1b\[[0-9;?]*[ -\/]*[@-~]/g, '')
    .replace(/\t/g, '  ')
    .replace(/[\x00-\x1f\x7f]/g, '');
