// Text from a host is shown on the operator's terminal (task output, diffs, messages, `berth
// logs`, `berth ps`): a host must not be able to drive that terminal. Every control character a
// terminal acts on (C0 but tab and newline, DEL, C1: ESC, CSI, OSC, BEL, CR...) is written as
// `\xNN`, where the host's words enter the controller, so every reporter (plain, --json, the live
// view) and every command shows the same safe text. There too, an event's text is cut to a
// bounded length: a host that sends a giant line cannot make the controller hold it.

/** Longest text kept of one string in a host's event (an output line, a message). */
export const MAX_EVENT_TEXT = 64 * 1024;
/** Longest diff kept: the agent's own diffs stay well below (modules/lib/diff.ts). */
export const MAX_EVENT_DIFF = 1024 * 1024;

/** What a terminal would act on; tab and newline are plain layout. */
const CONTROL = /[\x00-\x08\x0b-\x1f\x7f-\x9f]/g;

/** `\x1b]0;title\x07` for ESC ] 0 ; title BEL. */
export function escapeControls(text: string): string {
  CONTROL.lastIndex = 0;
  if (!CONTROL.test(text)) return text;
  return text.replace(CONTROL, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

/** Text cut to `max` characters, saying how much went. */
export function cutText(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max)} … (cut by berth: ${text.length - max} more characters)` : text;
}

/**
 * Every string inside a value escaped (keys too: a map keyed by a host's words is shown as well),
 * and, with `maxFor`, cut to the length it gives for the key that holds it.
 */
export function escapeDeep<T>(value: T, maxFor?: (key: string | undefined) => number): T {
  const walk = (v: unknown, key?: string): unknown => {
    if (typeof v === 'string') return escapeControls(maxFor ? cutText(v, maxFor(key)) : v);
    if (Array.isArray(v)) return v.map((x) => walk(x, key));
    if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [escapeControls(k), walk(x, k)]));
    return v;
  };
  return walk(value) as T;
}

/** A host's event as the controller keeps it: escaped, each text bounded. */
export const fromHostEvent = <T>(event: T): T => escapeDeep(event, (key) => (key === 'diff' ? MAX_EVENT_DIFF : MAX_EVENT_TEXT));
