// The controller-side tools the lab needs (mmdebstrap, zstd, dpkg-scanpackages, docker.io). On a
// Debian controller running as root berth installs what is missing; elsewhere it says what to install.
import { existsSync } from 'node:fs';
import { err, ExitCode, ok, type Result } from '../../controller/errors.js';
import { lastLine, run, which } from './run.js';

/** program -> the Debian package that ships it */
export const TOOL_PACKAGES: Record<string, string> = {
  mmdebstrap: 'mmdebstrap',
  zstd: 'zstd',
  'dpkg-scanpackages': 'dpkg-dev',
  'ssh-keygen': 'openssh-client',
  dockerd: 'docker.io',
  docker: 'docker.io',
  tar: 'tar',
};

const APT = ['apt-get', '-o', 'DPkg::Lock::Timeout=600'];

export const canInstall = (): boolean => process.getuid?.() === 0 && existsSync('/etc/debian_version') && existsSync('/usr/bin/apt-get');

let updated = false;

/** Installs the Debian packages behind missing programs; `log` tells the operator why it is slow. */
export async function ensureTools(programs: string[], log: (s: string) => void): Promise<Result<void>> {
  const missing: string[] = [];
  for (const p of programs) if (!(await which(p))) missing.push(p);
  if (missing.length === 0) return ok(undefined);
  const pkgs = [...new Set(missing.map((p) => TOOL_PACKAGES[p] ?? p))];
  if (!canInstall()) {
    return err({
      code: 'lab.tools-missing',
      message: `the lab needs ${missing.join(', ')}, which ${missing.length > 1 ? 'are' : 'is'} not installed`,
      hint: `install the Debian package${pkgs.length > 1 ? 's' : ''} ${pkgs.join(' ')} (berth installs them itself when it runs as root on Debian)`,
      exit: ExitCode.badInput,
    });
  }
  log(`installing ${pkgs.join(' ')} with apt (needed by the lab)`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  if (!updated) {
    const u = await run([...APT, 'update'], { env });
    if (u.code !== 0) return err({ code: 'lab.apt-failed', message: `apt-get update failed: ${lastLine(u)}`, exit: ExitCode.failed });
    updated = true;
  }
  const r = await run([...APT, 'install', '-y', '--no-install-recommends', ...pkgs], { env });
  if (r.code !== 0) {
    return err({ code: 'lab.apt-failed', message: `apt-get install ${pkgs.join(' ')} failed: ${lastLine(r)}`, exit: ExitCode.failed });
  }
  return ok(undefined);
}
