// Runs `vagrant ssh-config` for one Vagrantfile directory. Synchronous because the inventory is
// resolved synchronously, once per run, before anything connects (controller/inventory/source.ts).
import { spawnSync } from 'node:child_process';
import { err, ExitCode, ok, type BerthError, type Result } from '../../controller/errors.js';

export interface SshConfigRun {
  stdout: string;
  /** Vagrant exits 1 when some machine is not ready for SSH and still prints the ready ones. */
  code: number;
  stderr: string;
}

/** Vagrant's Ruby start-up plus a provider query per machine: seconds, not milliseconds. */
const TIMEOUT_MS = 120_000;

export function vagrantSshConfig(dir: string, where: string, env: NodeJS.ProcessEnv = process.env): Result<SshConfigRun, BerthError[]> {
  const r = spawnSync(env.BERTH_VAGRANT || 'vagrant', ['ssh-config'], {
    // VAGRANT_CWD pins the Vagrantfile to `dir` (Vagrant would otherwise search parent folders).
    // The checkpoint service asks HashiCorp for new versions: a network call on every run, or
    // a hang where there is no network.
    env: { VAGRANT_CHECKPOINT_DISABLE: '1', ...env, VAGRANT_CWD: dir },
    cwd: dir,
    encoding: 'utf8',
    timeout: TIMEOUT_MS,
    maxBuffer: 16 * 1024 * 1024,
  });
  if (r.error) {
    const missing = (r.error as NodeJS.ErrnoException).code === 'ENOENT';
    return err([{
      code: missing ? 'inventory.vagrant-missing' : 'inventory.vagrant-failed',
      message: missing ? 'the vagrant inventory provider needs Vagrant, which is not installed' : `vagrant ssh-config failed: ${r.error.message}`,
      where,
      hint: missing ? 'install Vagrant (on Debian: apt-get install --no-install-recommends vagrant), or set BERTH_VAGRANT to its path' : undefined,
      exit: missing ? ExitCode.badInput : ExitCode.failed,
    }]);
  }
  return ok({ stdout: r.stdout, stderr: r.stderr, code: r.status ?? 1 });
}

/** Vagrant's own last words (its messages span several lines; the first one says what happened). */
export function vagrantSays(stderr: string): string {
  const paragraph = stderr.trim().split(/\n\s*\n/)[0] ?? '';
  return paragraph.replace(/\s+/g, ' ').trim();
}
