// The lab's SSH key pair: one per lab, kept with the lab's state, authorised on every host.
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, mkdir, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { run } from './run.js';

export interface LabKey {
  path: string;
  publicKey: string;
  /** OpenSSH's `SHA256:...` fingerprint; hosts are labelled with it. */
  fingerprint: string;
}

export function fingerprint(publicKeyLine: string): string {
  const blob = Buffer.from(publicKeyLine.trim().split(/\s+/)[1] ?? '', 'base64');
  return 'SHA256:' + createHash('sha256').update(blob).digest('base64').replace(/=+$/, '');
}

export async function ensureLabKey(dir: string, lab: string): Promise<LabKey> {
  const path = join(dir, 'id_ed25519');
  if (!existsSync(path) || !existsSync(`${path}.pub`)) {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    // OpenSSH's own generator: ssh2's generateKeyPairSync('ed25519') writes an unloadable
    // key about once in 250 runs (a public key one byte short).
    await rm(`${path}.tmp`, { force: true });
    await rm(`${path}.tmp.pub`, { force: true });
    const gen = await run(['ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-C', `berth-lab-${lab}`, '-f', `${path}.tmp`]);
    if (gen.code !== 0) throw new Error(`ssh-keygen failed: ${gen.stderr.trim()}`);
    // Private key renamed last: a cut run never leaves a .pub without its key.
    await rename(`${path}.tmp.pub`, `${path}.pub`);
    await rename(`${path}.tmp`, path);
  }
  await chmod(path, 0o600);
  const publicKey = (await readFile(`${path}.pub`, 'utf8')).trim();
  return { path, publicKey, fingerprint: fingerprint(publicKey) };
}
