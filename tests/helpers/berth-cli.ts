// Runs the real `berth` CLI (bin/berth.js) as an operator would, collecting its --json events as
// they arrive; `onEvent` may act on the run while it goes (kill it, cut a host off). A timeout
// kills a hung run so that a test fails instead of stalling the suite.
import { spawn } from 'node:child_process';
import { join } from 'node:path';

const root = new URL('../..', import.meta.url).pathname;

export type Ev = Record<string, any> & { type: string };
export interface Run {
  code: number | null;
  events: Ev[];
  stdout: string;
  stderr: string;
}

export function berth(args: string[], opts: { env?: NodeJS.ProcessEnv; onEvent?: (e: Ev, child: ReturnType<typeof spawn>) => void; timeoutMs?: number } = {}): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [join(root, 'bin/berth.js'), ...args], { cwd: root, env: { ...process.env, CI: 'true', ...opts.env } });
    let stdout = '';
    let stderr = '';
    let partial = '';
    const events: Ev[] = [];
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 180_000);
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (d: string) => {
      stdout += d;
      const lines = (partial + d).split('\n');
      partial = lines.pop() ?? '';
      for (const l of lines) {
        if (!l.startsWith('{')) continue;
        const e = JSON.parse(l) as Ev;
        events.push(e);
        opts.onEvent?.(e, child);
      }
    });
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, events, stdout, stderr });
    });
  });
}
