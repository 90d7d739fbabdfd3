// The agent file this process runs from and its sha256: the watcher is the agent itself in
// daemon mode, so "which version" is the agent's own hash (the name it is stored under, too).
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

let sha: string | undefined;

/** In the bundle, the agent file (…/agent/<sha256>.mjs); under tsx, this source file. */
export const agentFile = (): string => fileURLToPath(import.meta.url);

export function agentSha(): string {
  sha ??= createHash('sha256').update(readFileSync(agentFile())).digest('hex');
  return sha;
}
