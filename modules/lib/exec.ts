// Runs a child quietly to READ state (dpkg-query, getent, systemctl is-active): its output is
// data for the module, not lines for the operator, so nothing is streamed back.
import { spawn } from 'node:child_process';

export interface Captured {
  code: number;
  stdout: string;
  stderr: string;
  /** Set when the program could not be started at all (ENOENT, EACCES). */
  spawnError?: string;
}

export function capture(argv: string[], opts: { env?: Record<string, string>; stdin?: string; signal?: AbortSignal } = {}): Promise<Captured> {
  return new Promise((resolve) => {
    const child = spawn(argv[0], argv.slice(1), { env: { ...process.env, ...opts.env }, stdio: ['pipe', 'pipe', 'pipe'], signal: opts.signal });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.stdin.on('error', () => {});
    child.stdin.end(opts.stdin ?? '');
    let settled = false;
    child.on('error', (e) => {
      if (settled) return;
      settled = true;
      resolve({ code: -1, stdout, stderr, spawnError: e.message });
    });
    child.on('close', (code) => {
      if (settled) return;
      settled = true;
      resolve({ code: code ?? -1, stdout, stderr });
    });
  });
}

/** True when `name` is an executable on PATH (which package manager, which init tools exist). */
export async function onPath(name: string): Promise<boolean> {
  const r = await capture(['sh', '-c', 'command -v "$1"', 'sh', name]);
  return r.code === 0 && r.stdout.trim() !== '';
}
