// Glyphs and colours of the live view, in one place so rows, groups and the recap agree.
import type { TaskStatus } from '../../protocol/agent-protocol.js';

const FRAMES = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

/** The spinner frame at a time: every spinner on screen turns together. */
export const spinner = (now: number): string => FRAMES[Math.floor(now / 80) % FRAMES.length]!;

export const STATUS_COLOR: Record<TaskStatus, string> = { ok: 'green', changed: 'yellow', failed: 'red', skipped: 'cyan' };

export const GLYPH = { done: '✔', failed: '✖', waiting: '·' } as const;

/** Below this many hosts every host gets a row; above, hosts are counted by state. */
export const MAX_ROWS = 20;

/** Failures printed in full per play; the rest are named. */
export const MAX_FAILURES = 10;
