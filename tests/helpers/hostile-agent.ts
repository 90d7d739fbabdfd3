// A hostile host for tests: tests/fixtures/hostile-agent.mjs run as a real process on a real pipe
// (the local transport), with berth's own controller at the other end. It answers each request
// as the test scripts it: what a compromised host could send, which a real agent never does.
import { fileURLToPath } from 'node:url';
import { quote } from 'shell-quote';
import { AgentClient } from '../../controller/agent/agent-client.js';
import { err } from '../../controller/errors.js';
import { localTransport } from '../../controller/local-transport.js';
import type { HostTransport } from '../../controller/transport.js';

export type HostileScript = Record<string, { events?: unknown[]; repeat?: { event: unknown; times: number }; line?: { bytes: number }; result?: unknown; error?: { code: string; message: string; detail?: string } }>;

const script = fileURLToPath(new URL('../fixtures/hostile-agent.mjs', import.meta.url));
const command = (s: HostileScript, env: Record<string, string> = {}) =>
  `${Object.entries({ HOSTILE_SCRIPT: JSON.stringify(s), ...env }).map(([k, v]) => `${k}=${quote([v])}`).join(' ')} exec ${quote([process.execPath, script])}`;

/** An AgentClient talking to a hostile agent, past the bootstrap. */
export async function hostileAgent(s: HostileScript): Promise<{ client: AgentClient; close: () => void }> {
  const t = localTransport();
  const ch = await t.spawn(command(s));
  if (!ch.ok) throw new Error(ch.error.message);
  const client = new AgentClient(ch.value, '');
  const hello = await client.waitHello();
  if (!hello.ok) throw new Error(`the hostile agent's hello was refused: ${hello.error.message}`);
  return { client, close: () => (client.bye(), t.close()) };
}

/**
 * A transport to a hostile host, for `applyPlaybook` and the fleet commands: whatever the
 * controller asks it to start, the hostile agent answers, with the ready marker and agent hash
 * the bootstrap asked for, so the controller takes it for its own agent.
 */
export function hostileTransport(s: HostileScript): HostTransport {
  const t = localTransport();
  return {
    get bytesSent() {
      return t.bytesSent;
    },
    exec: async () => err({ code: 'hostile.exec', message: 'the hostile host runs nothing but its agent' }),
    spawn(cmd) {
      const sha = /agent\/([0-9a-f]{64})\.mjs/.exec(cmd)?.[1] ?? '';
      const nonce = /exec "\$N" "\$A" ([0-9a-f]+)/.exec(cmd)?.[1] ?? '';
      return t.spawn(command(s, { HOSTILE_NONCE: nonce, HOSTILE_SHA: sha }));
    },
    close: () => t.close(),
  };
}
