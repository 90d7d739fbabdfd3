// Opens the hosts' relays for a run that has large content to send (docs/images.md). First each
// host says what its interfaces are (`relay.addresses`); from those the controller picks, for
// each pair of hosts, the address one dials to reach the other; then each relay opens
// (`relay.open`) listening on exactly the addresses it will be reached at, never on every
// interface. All on the channels already open, hosts in parallel. Inventory vars per host:
// `berth_relay: false` keeps a host out of it, `berth_relay_port` fixes its port (for a
// firewall; default any free port), `berth_relay_address` is how the other hosts reach it, and
// `berth_relay_bind` the host's own address to listen on when that one is not (a NAT address).
import { isIP } from 'node:net';
import type { RelayEndpoint, RequestBody, WireError } from '../../protocol/agent-protocol.js';
import { RelayBroker, type RelayWarning } from './broker.js';
import { pickAddress } from './pick-address.js';

export interface RelayHost {
  host: string;
  vars: Record<string, unknown>;
  request: (body: RequestBody) => Promise<{ ok: true; result: unknown } | { ok: false; error: WireError }>;
}

type Addresses = RelayEndpoint['addresses'];

/** The run's broker once two hosts or more have a relay open; undefined when relaying cannot help. */
export async function openRelays(hosts: RelayHost[], onWarning: (w: RelayWarning) => void): Promise<RelayBroker | undefined> {
  const taking = hosts.filter((h) => h.vars.berth_relay !== false);
  if (taking.length < 2) return undefined;
  const known = (
    await Promise.all(
      taking.map(async (h) => {
        const r = await h.request({ method: 'relay.addresses' });
        if (!r.ok || !Array.isArray(r.result)) {
          onWarning({ host: h.host, code: 'relay.listen', message: `its relay did not open (${r.ok ? 'no addresses' : r.error.message}); it gets content from the controller`, hint: 'set berth_relay: false for this host' });
          return [];
        }
        return [{ h, addresses: r.result as Addresses }];
      }),
    )
  ).flat();
  if (known.length < 2) return undefined;
  const everyone = known.map((k) => k.addresses);
  const broker = new RelayBroker(onWarning);
  await Promise.all(
    known.map(async ({ h, addresses }) => {
      const asked = Number(h.vars.berth_relay_port ?? 0);
      const port = Number.isInteger(asked) && asked >= 0 && asked <= 65535 ? asked : 0;
      if (port !== asked) {
        onWarning({ host: h.host, code: 'relay.bad-port', message: `berth_relay_port is ${JSON.stringify(h.vars.berth_relay_port)}, not a port; this host's relay takes any free port`, hint: 'set berth_relay_port to a number from 1 to 65535 (or leave it out)' });
      }
      const fixed = typeof h.vars.berth_relay_address === 'string' ? h.vars.berth_relay_address : undefined;
      // The address each other host will dial: what this relay listens on, and nothing else.
      const given = new Map<string, string>();
      for (const other of known) {
        if (other.h === h) continue;
        const address = fixed ?? pickAddress(addresses, other.addresses, everyone);
        if (address) given.set(other.h.host, address);
      }
      const bindVar = h.vars.berth_relay_bind;
      const bind = typeof bindVar === 'string' ? [bindVar] : [...new Set(given.values())];
      const bad = bind.find((b) => isIP(b) === 0);
      if (bad !== undefined) {
        onWarning({ host: h.host, code: 'relay.listen', message: `its relay did not open: ${JSON.stringify(bad)} is not an IP address to listen on; it gets content from the controller`, hint: 'set berth_relay_address to an IP address the other hosts reach (and berth_relay_bind to the host\'s own address behind it, for a NAT address)' });
        return;
      }
      const r = await h.request({ method: 'relay.open', params: { key: broker.key, port, bind } });
      if (!r.ok) {
        onWarning({ host: h.host, code: 'relay.listen', message: `its relay did not open (${r.error.message}); it gets content from the controller`, hint: fixed ? 'berth_relay_address must be an address of the host itself, or set berth_relay_bind to the host\'s own address behind it' : 'set berth_relay_port to a free port, or berth_relay: false for this host' });
        return;
      }
      broker.addHost(h.host, r.result as RelayEndpoint, given);
    }),
  );
  return broker.hosts >= 2 ? broker : undefined;
}
