// The lab's SSH key pair: one per lab, kept with the lab's state, authorised on every host.
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import ssh2 from 'ssh2';

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
    const pair = ssh2.utils.generateKeyPairSync('ed25519', { comment: `berth-lab-${lab}` });
    // Private key first under a temp name: a cut run never leaves a .pub without its key.
    await writeFile(`${path}.tmp`, pair.private, { mode: 0o600 });
    await writeFile(`${path}.pub`, pair.public.trim() + '\n');
    await rename(`${path}.tmp`, path);
  }
  await chmod(path, 0o600);
  const publicKey = (await readFile(`${path}.pub`, 'utf8')).trim();
  return { path, publicKey, fingerprint: fingerprint(publicKey) };
}
