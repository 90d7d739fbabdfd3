// Every way an SSH connection can fail, as a value a person can act on. Messages name the host as
// `user@host:port` (what the operator typed into ssh) and never carry a stack, a key or a secret.
import { ExitCode, type BerthError } from '../errors.js';
import { escapeControls } from '../host-text.js';

export type SshErrorCode =
  | 'ssh.unreachable'
  | 'ssh.auth-failed'
  | 'ssh.host-key-changed'
  | 'ssh.host-key-unknown'
  | 'ssh.host-key-revoked'
  | 'ssh.jump-failed'
  | 'ssh.disconnected'
  | 'ssh.handshake-failed'
  | 'ssh.channel-failed'
  | 'ssh.exec-timeout'
  | 'ssh.bad-config'
  | 'ssh.key-not-found';

/**
 * A host berth could not reach safely counts as unreachable (exit 3), whatever the reason: the
 * recap puts it beside dead hosts and the run goes on with the rest. Only bad input stops a run.
 */
export function sshError(code: SshErrorCode, message: string, where?: string, hint?: string): BerthError {
  const exit =
    code === 'ssh.bad-config' || code === 'ssh.key-not-found'
      ? ExitCode.badInput
      : code === 'ssh.exec-timeout' || code === 'ssh.channel-failed'
        ? ExitCode.failed
        : ExitCode.unreachable;
  const e: BerthError = { code, message, exit };
  if (where !== undefined) e.where = where;
  if (hint !== undefined) e.hint = hint;
  return e;
}

/** What a Node socket error means to someone at a terminal. */
export function describeSocketError(e: unknown): string {
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  switch (code) {
    case 'ECONNREFUSED':
      return 'connection refused (nothing listens on that port, or a firewall rejects it)';
    case 'EHOSTUNREACH':
      return 'no route to host (EHOSTUNREACH)';
    case 'ENETUNREACH':
      return 'network unreachable (ENETUNREACH)';
    case 'ETIMEDOUT':
      return 'connection timed out (ETIMEDOUT)';
    case 'ECONNRESET':
      return 'connection reset by peer';
    case 'EPIPE':
      return 'connection closed by peer';
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return 'host name does not resolve (' + code + ')';
    default:
      return oneLine(e);
  }
}

/** The first line of an error's message: never a stack; a server's words in it shown escaped. */
export function oneLine(e: unknown): string {
  const raw = e instanceof Error ? e.message : String(e);
  return escapeControls((raw.split('\n')[0] ?? '').trim()) || 'unknown error';
}
