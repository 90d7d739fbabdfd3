// The engine client for the services code, with one clear error when there is no engine to talk
// to (not installed, not started) instead of a socket error deep inside a converge.
import type Docker from 'dockerode';
import { docker } from '../docker-client.js';
import type { WireError } from '../../protocol/agent-protocol.js';
import { observe } from './observe.js';

export async function engine(): Promise<{ ok: true; docker: Docker } | { ok: false; error: WireError }> {
  const d = await docker();
  try {
    await d.ping();
    return { ok: true, docker: d };
  } catch (e) {
    return { ok: false, error: { code: 'services.no-engine', message: `the Docker Engine on this host does not answer (${(e as Error).message}); run the runtime task first` } };
  }
}

/** Id of the first container of a service (its lowest replica, running ones first), if any. */
export async function firstContainerOf(d: Docker, playbook: string, service: string): Promise<string | undefined> {
  const list = (await observe(d, playbook, service)).filter((c) => c.role === '' && !c.oneoff);
  list.sort((a, b) => Number(b.state === 'running') - Number(a.state === 'running') || a.replica - b.replica);
  return list[0]?.id;
}
