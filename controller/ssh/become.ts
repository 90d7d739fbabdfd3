// Running a command as root on a host where we log in as someone else.
import type { SshTarget } from './target.js';

/**
 * POSIX single quotes: the one quoting whose meaning is the same in sh, bash, dash, zsh and fish
 * (the login shell sshd hands the command to may be any of them), with nothing inside to escape
 * but the quote itself.
 */
export function shQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/**
 * `sudo -n` fails at once instead of prompting when sudo wants a password: there is no terminal
 * to type it into (exec channels have no pty), so a prompt would only hang the run.
 */
export function wrapBecome(command: string, target: Pick<SshTarget, 'become' | 'user'>): string {
  if (!target.become || target.user === 'root') return command;
  return `sudo -n -- sh -c ${shQuote(command)}`;
}
