// The `ambassador` module's parameters: its schema alone, which the controller reads without the
// module's host-side code (modules/catalog.ts).
import { Type } from '@sinclair/typebox';
import { OneOf } from '../lib/schema.js';
import { Duration, Port, mapOf } from '../../schema/common.js';
import { RegistryAddressParam, RegistryTagsParam, registryName, registryNameExpected } from '../../schema/registry.js';

const ListenerSchema = Type.Object(
  {
    port: Port('Port the application connects to.'),
    tags: Type.Optional(RegistryTagsParam('Route only to instances with all of these tags.')),
    mode: Type.Optional(OneOf(['tcp', 'http'], 'tcp (default): any protocol, balanced per connection; http: balanced per request, adds X-Forwarded-For.')),
    bind: Type.Optional(RegistryAddressParam('Address to listen on (default 127.0.0.1 on the host network, 0.0.0.0 on networks).')),
    balance: Type.Optional(OneOf(['roundrobin', 'leastconn', 'source'], 'How haproxy picks an instance (default roundrobin).')),
  },
  { additionalProperties: false },
);

export const ambassadorSchema = Type.Object(
  {
    name: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9_.-]*$', description: 'Name of this ambassador on the host (default "default"; container berth-ambassador).' })),
    services: mapOf(ListenerSchema, { description: 'Services to route to (registry names), each on its own port.', keyPattern: `^${registryName}$`, keyExpected: registryNameExpected }),
    networks: Type.Optional(
      Type.Array(
        Type.Object(
          {
            name: Type.String({ minLength: 1, description: 'A Docker network on this host.' }),
            aliases: Type.Optional(Type.Array(Type.String({ minLength: 1 }), { description: 'Names applications on that network use to reach the ambassador (default: the service names).' })),
          },
          { additionalProperties: false },
        ),
        { minItems: 1, description: 'Join these Docker networks, reachable by the aliases (default: the service names), instead of using the host network.' },
      ),
    ),
    check: Type.Optional(
      Type.Union([Type.Boolean(), Type.Object({ interval: Type.Optional(Duration('Time between haproxy\'s own checks (default 2s).')), fall: Type.Optional(Type.Integer({ minimum: 1, description: 'Failed checks before haproxy stops sending to an instance (default 2).' })), rise: Type.Optional(Type.Integer({ minimum: 1, description: 'Passed checks before it sends to it again (default 1).' })) }, { additionalProperties: false })], {
        description: 'haproxy also checks each instance (TCP connect), so a dead one stops getting traffic even before the registry says so (default true).',
      }),
    ),
    retries: Type.Optional(
      Type.Integer({
        minimum: 0,
        maximum: 10,
        description: 'Times haproxy tries a connection again after a server refused it, the last time on another server (default 2). 0: no retry, so a client sees every refused connection (what a test of draining needs).',
      }),
    ),
    repo: Type.Optional(Type.String({ minLength: 1, description: 'An apt source line to install haproxy from (default: the host\'s own sources).' })),
    state: Type.Optional(OneOf(['present', 'absent'], 'present (default) or absent (container and config removed).')),
  },
  { additionalProperties: false, description: 'Runs a haproxy ambassador that routes to the healthy instances of services from the service registry, reloaded as they come and go.' },
);
