// Runs external programs with argv arrays (never a shell string) and hands back what they said,
// so callers can turn a failure into an error value with the program's own words.
import { spawn, type SpawnOptions } from 'node:child_process';

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  input?: string;
  /** Stream the program's stderr to ours (long steps like mmdebstrap, where silence looks like a hang). */
  showStderr?: boolean;
  timeoutMs?: number;
}

export function run(argv: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolve) => {
    const spawnOpts: SpawnOptions = { cwd: opts.cwd, env: opts.env ?? process.env, stdio: ['pipe', 'pipe', 'pipe'] };
    const child = spawn(argv[0]!, argv.slice(1), spawnOpts);
    let stdout = '';
    let stderr = '';
    let timer: NodeJS.Timeout | undefined;
    if (opts.timeoutMs) timer = setTimeout(() => child.kill('SIGTERM'), opts.timeoutMs);
    child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr!.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
      if (opts.showStderr) process.stderr.write(d);
    });
    child.on('error', (e) => {
      if (timer) clearTimeout(timer);
      resolve({ code: 127, stdout, stderr: stderr + e.message });
    });
    child.on('close', (code, signal) => {
      if (timer) clearTimeout(timer);
      resolve({ code: code ?? (signal ? 128 : 1), stdout, stderr });
    });
    child.stdin!.on('error', () => {});
    child.stdin!.end(opts.input ?? '');
  });
}

/** `producer | consumer`, e.g. `zstd -dc file | docker import -`; fails if either side fails. */
export function pipe(producer: readonly string[], consumer: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolve) => {
    const env = opts.env ?? process.env;
    const a = spawn(producer[0]!, producer.slice(1), { env, stdio: ['ignore', 'pipe', 'pipe'] });
    const b = spawn(consumer[0]!, consumer.slice(1), { env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    a.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    b.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    b.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    b.stdin!.on('error', () => {});
    a.stdout!.pipe(b.stdin!);
    const codes: (number | null)[] = [];
    const done = () => {
      if (codes.length < 2) return;
      const bad = codes.find((c) => c !== 0);
      resolve({ code: bad === undefined ? 0 : (bad ?? 1), stdout, stderr });
    };
    a.on('error', (e) => { stderr += e.message; });
    b.on('error', (e) => { stderr += e.message; });
    a.on('close', (c) => { codes.push(c); done(); });
    b.on('close', (c) => { codes.push(c); done(); });
  });
}

/** The last meaningful line a program printed, for one-line error messages. */
export function lastLine(r: RunResult): string {
  const lines = (r.stderr || r.stdout).split('\n').map((l) => l.trim()).filter(Boolean);
  return lines[lines.length - 1] ?? `exit code ${r.code}`;
}

/** Absolute path of a program found on PATH or in the sbin folders root's PATH usually has. */
export async function which(name: string): Promise<string | undefined> {
  const { access, constants } = await import('node:fs/promises');
  const dirs = [...(process.env.PATH ?? '').split(':'), '/usr/local/sbin', '/usr/sbin', '/sbin', '/usr/local/bin', '/usr/bin', '/bin'];
  for (const d of dirs) {
    if (!d) continue;
    const p = `${d}/${name}`;
    try {
      await access(p, constants.X_OK);
      return p;
    } catch {
      // not here
    }
  }
  return undefined;
}
