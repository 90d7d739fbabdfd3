// `command`: runs a program on the host without a shell (argv), like Ansible's command module.
// It always reports a change unless `creates` already exists or `removes` is already gone.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { type Static } from '@sinclair/typebox';
import { split as shlexSplit } from 'shlex';
import { converged, defineModule, failed, type ApplyResult, type ModuleContext, type PlanResult } from './contract.js';
import { asUser, userEnv } from './lib/run-as.js';
import { Options, commandSchema, type CommandParams } from './params/command.js';

export { commandSchema, type CommandParams };

/** Normalizes the three accepted forms to argv plus options; a line whose quotes do not close is an error. */
export function toArgv(p: CommandParams): { argv: string[]; opts: Static<typeof Options> } | { error: string } {
  const line = typeof p === 'string' ? p : Array.isArray(p) ? undefined : p.argv ? undefined : p.cmd;
  const opts = typeof p === 'string' || Array.isArray(p) ? {} : p;
  if (line === undefined) return { argv: Array.isArray(p) ? p : ((p as Static<typeof Options>).argv ?? []), opts };
  // As Ansible's command module (Python's shlex.split): quotes and backslashes group words, and
  // nothing is expanded, so a `$` or `*` in a password or a pattern reaches the program as written.
  try {
    return { argv: shlexSplit(line), opts };
  } catch (e) {
    return { error: `cannot split the command line into words: ${(e as Error).message}` };
  }
}

export const command = defineModule({
  name: 'command',
  schema: commandSchema,
  async plan(params, ctx) {
    const words = toArgv(params);
    if ('error' in words) return failed('command.quoting', `${words.error}: close the quote, or give the command as a list: [program, arg, ...]`);
    const { argv, opts } = words;
    if (argv.length === 0) return failed('command.empty', 'command has no program to run');
    return planRun(argv, argv.join(' '), opts, ctx);
  },
});

/** command and shell alike: skip on creates/removes, otherwise one change that runs the program. */
export function planRun(
  argv: string[],
  shown: string,
  opts: { chdir?: string; env?: Record<string, string>; stdin?: string; creates?: string; removes?: string },
  ctx: ModuleContext,
): PlanResult {
  // Relative creates/removes are relative to chdir, as the command itself would see them.
  const at = (p: string) => (opts.chdir ? resolve(opts.chdir, p) : p);
  if (opts.creates && existsSync(at(opts.creates))) return converged({ skipped: `${opts.creates} exists`, rc: 0, stdout: '', stderr: '' });
  if (opts.removes && !existsSync(at(opts.removes))) return converged({ skipped: `${opts.removes} does not exist`, rc: 0, stdout: '', stderr: '' });
  return {
    ok: true,
    changes: [{ summary: `run: ${shown}`, cause: 'commands always run', apply: () => runArgv(argv, opts, ctx) }],
  };
}

/**
 * Runs a child with its own pipes (never the agent's stdout, which carries the protocol), in the
 * task's environment (the module's own variables win), as the task's become_user if it has one.
 */
export function runArgv(
  argv: string[],
  opts: { chdir?: string; env?: Record<string, string>; stdin?: string },
  ctx: ModuleContext,
): Promise<ApplyResult> {
  const run = ctx.runAs ? asUser(ctx.runAs, argv) : argv;
  return new Promise((resolve) => {
    const child = spawn(run[0], run.slice(1), {
      cwd: opts.chdir,
      env: { ...process.env, ...(ctx.runAs ? userEnv(ctx.runAs) : {}), ...ctx.env, ...opts.env },
      stdio: ['pipe', 'pipe', 'pipe'],
      signal: ctx.signal,
    });
    const tail: string[] = [];
    const out = { stdout: '', stderr: '' };
    const pump = (stream: 'stdout' | 'stderr') => {
      let partial = '';
      child[stream].setEncoding('utf8');
      child[stream].on('data', (chunk: string) => {
        out[stream] += chunk;
        const lines = (partial + chunk).split('\n');
        partial = lines.pop() ?? '';
        for (const line of lines) emit(stream, line);
      });
      child[stream].on('end', () => partial && emit(stream, partial));
    };
    const emit = (stream: 'stdout' | 'stderr', line: string) => {
      ctx.output(stream, line);
      tail.push(line);
      if (tail.length > 20) tail.shift();
    };
    pump('stdout');
    pump('stderr');
    child.stdin.on('error', () => {});
    child.stdin.end(opts.stdin ?? '');
    child.on('error', (e: NodeJS.ErrnoException) => {
      resolve(failed(e.code === 'ENOENT' ? 'command.not-found' : 'command.spawn', `cannot run ${argv[0]}: ${e.message}`));
    });
    const started = Date.now();
    child.on('close', (code, signal) => {
      const stdout = out.stdout.trimEnd();
      const stderr = out.stderr.trimEnd();
      // Ansible's names, so `register:`ed results read the same in when/changed_when expressions.
      const data = {
        rc: code ?? -1,
        stdout,
        stderr,
        stdout_lines: stdout === '' ? [] : stdout.split('\n'),
        stderr_lines: stderr === '' ? [] : stderr.split('\n'),
        cmd: argv,
        durationMs: Date.now() - started,
        ...(signal ? { signal } : {}),
      };
      if (code === 0) return resolve({ ok: true, data });
      const why = signal ? `killed by ${signal}` : `exited with ${code}`;
      resolve({ ok: false, error: { code: 'command.failed', message: `${argv.join(' ')} ${why}`, detail: tail.join('\n') }, data });
    });
  });
}
