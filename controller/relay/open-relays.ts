// Opens the hosts' relays for a run that has large content to send (docs/images.md): one
// `relay.open` per host, in parallel, on the channels already open. Inventory vars per host:
// `berth_relay: false` keeps a host out of it, `berth_relay_port` fixes its port (for a
// firewall; default any free port), `berth_relay_address` is how the other hosts reach it.
import type { RelayEndpoint, RequestBody, WireError } from '../../protocol/agent-protocol.js';
import { RelayBroker, type RelayWarning } from './broker.js';

export interface RelayHost {
  host: string;
  vars: Record<string, unknown>;
  request: (body: RequestBody) => Promise<{ ok: true; result: unknown } | { ok: false; error: WireError }>;
}

/** The run's broker once two hosts or more have a relay open; undefined when relaying cannot help. */
export async function openRelays(hosts: RelayHost[], onWarning: (w: RelayWarning) => void): Promise<RelayBroker | undefined> {
  const taking = hosts.filter((h) => h.vars.berth_relay !== false);
  if (taking.length < 2) return undefined;
  const broker = new RelayBroker(onWarning);
  await Promise.all(
    taking.map(async (h) => {
      const asked = Number(h.vars.berth_relay_port ?? 0);
      const port = Number.isInteger(asked) && asked >= 0 && asked <= 65535 ? asked : 0;
      if (port !== asked) {
        onWarning({ host: h.host, code: 'relay.bad-port', message: `berth_relay_port is ${JSON.stringify(h.vars.berth_relay_port)}, not a port; this host's relay takes any free port`, hint: 'set berth_relay_port to a number from 1 to 65535 (or leave it out)' });
      }
      const bind = typeof h.vars.berth_relay_bind === 'string' ? h.vars.berth_relay_bind : undefined;
      const r = await h.request({ method: 'relay.open', params: { key: broker.key, port, ...(bind ? { bind } : {}) } });
      if (!r.ok) {
        onWarning({ host: h.host, code: 'relay.listen', message: `its relay did not open (${r.error.message}); it gets content from the controller`, hint: 'set berth_relay_port to a free port, or berth_relay: false for this host' });
        return;
      }
      const address = typeof h.vars.berth_relay_address === 'string' ? h.vars.berth_relay_address : undefined;
      broker.addHost(h.host, r.result as RelayEndpoint, address);
    }),
  );
  return broker.hosts >= 2 ? broker : undefined;
}
