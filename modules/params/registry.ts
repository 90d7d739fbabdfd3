// The `registry` module's parameters: its schema alone, which the controller reads without the
// module's host-side code (modules/catalog.ts).
import { Type } from '@sinclair/typebox';
import { OneOf } from '../lib/schema.js';
import { Duration } from '../../schema/common.js';
import { RegistryAddressParam, RegistryNameParam } from '../../schema/registry.js';

/** Where the etcd backend keeps registrations unless `prefix` says otherwise. */
export const DEFAULT_PREFIX = '/berth/services';

/** A file on the host (a templated path is checked once rendered, by reading it). */
const HostPath = (description: string) => Type.String({ pattern: '^/|\\{\\{', expected: 'an absolute path on the host', description });

export const registrySchema = Type.Object(
  {
    backend: Type.Optional(OneOf(['embedded', 'etcd'], 'embedded (default): no server, each host keeps its own instances and the controller shares them at apply time; etcd: a shared etcd cluster, updated live.')),
    endpoints: Type.Optional(Type.Array(Type.String({ minLength: 1 }), { minItems: 1, description: 'etcd client URLs, e.g. ["http://10.0.0.5:2379"] (backend etcd).' })),
    prefix: Type.Optional(Type.String({ pattern: '^/', description: `Key prefix in etcd (default ${DEFAULT_PREFIX}).` })),
    tls: Type.Optional(
      Type.Object(
        {
          ca: Type.Optional(HostPath('The CA certificate (PEM) that signed etcd\'s server certificate (default: the system\'s roots).')),
          cert: Type.Optional(HostPath('This client\'s certificate (PEM), for an etcd started with --client-cert-auth; needs key.')),
          key: Type.Optional(HostPath('The private key (PEM) of cert.')),
        },
        { additionalProperties: false, description: 'TLS to etcd (https:// endpoints): files on the host, put there before this task (e.g. with copy, mode 0600 for the key).' },
      ),
    ),
    username: Type.Optional(Type.String({ minLength: 1, description: 'etcd user (an etcd with auth enabled); needs password.' })),
    password: Type.Optional(Type.String({ minLength: 1, description: 'Password of username; kept on the host in a file only root reads. Use a secret.' })),
    ttl: Type.Optional(Duration('How long a registration outlives its host going silent (default 10s): the watcher renews it every third of this.')),
    host: Type.Optional(RegistryNameParam("This host's name in the registry (default: its hostname); use {{inventory_hostname}} to match the inventory.")),
    address: Type.Optional(RegistryAddressParam('Address other hosts reach published ports at (default: the address of the interface of the default route).')),
    state: Type.Optional(OneOf(['started', 'stopped'], 'started (default): keep the watcher running; stopped: withdraw every registration and stop it.')),
  },
  { additionalProperties: false, description: 'Sets the service registry this host registers in and keeps its watcher (health checks, registrations, ambassadors) running.' },
);
