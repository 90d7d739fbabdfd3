// Errors are values: every failure a person can act on carries a code, a message, where it
// happened and what to try. Only bugs throw.

/** Exit codes are part of berth's interface (documented in the README). */
export const ExitCode = {
  ok: 0,
  failed: 1,
  badInput: 2,
  unreachable: 3,
  reverted: 4,
  cancelled: 130,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

export interface BerthError {
  /** Stable machine-readable code, e.g. `schema.unknown-key`, `ssh.host-key-changed`. */
  code: string;
  /** One sentence for a person: what went wrong. */
  message: string;
  /** Where: `file:line:column`, a host name, or a task. */
  where?: string;
  /** What to try next. */
  hint?: string;
  /** The process exit code this error leads to when it ends a command. */
  exit?: ExitCode;
}

export type Result<T, E = BerthError> = { ok: true; value: T } | { ok: false; error: E };

export const ok = <T>(value: T): Result<T, never> => ({ ok: true, value });
export const err = <E = BerthError>(error: E): Result<never, E> => ({ ok: false, error });

export function badInput(code: string, message: string, where?: string, hint?: string): BerthError {
  return { code, message, where, hint, exit: ExitCode.badInput };
}

/** Renders an error the way a person reads it: `where: message` then an indented hint. */
export function formatError(e: BerthError): string {
  const head = e.where ? `${e.where}: ${e.message}` : e.message;
  return e.hint ? `${head}\n  hint: ${e.hint}` : head;
}

/** Thrown to unwind a command with a user-facing error; cli/ catches it and exits. */
export class BerthFailure extends Error {
  constructor(public readonly errors: BerthError[]) {
    super(errors.map(formatError).join('\n'));
  }
}
