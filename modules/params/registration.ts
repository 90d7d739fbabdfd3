// The `registration` module's parameters: its schema alone, which the controller reads without the
// module's host-side code (modules/catalog.ts).
import { Type } from '@sinclair/typebox';
import { OneOf } from '../lib/schema.js';
import { Duration, Port } from '../../schema/common.js';
import { RegistryMetaParam, RegistryNameParam, RegistryReleaseParam, RegistryTagsParam } from '../../schema/registry.js';
import { Health } from '../../schema/service.js';

export const registrationSchema = Type.Object(
  {
    container: Type.String({ minLength: 1, description: 'Name or id of the container.' }),
    name: RegistryNameParam('Service name in the registry.'),
    port: Type.Optional(Port('Container port to register (default: the first published port, else the health check\'s port).')),
    tags: Type.Optional(RegistryTagsParam('Tags for discovery (e.g. the version).')),
    release: Type.Optional(RegistryReleaseParam("Release to record (default: the container's berth.release label, else its image id).")),
    meta: Type.Optional(RegistryMetaParam('Free-form metadata stored with the instance (one line of text per name).')),
    health: Type.Optional(Health),
    deadline: Type.Optional(Duration('How long the gate waits for the first healthy check (default 60s).')),
    ttl: Type.Optional(Duration("The registration's time to live (default: the host's registry ttl).")),
    restart_after: Type.Optional(Duration('Restart the container when it has been unhealthy this long (default: never).')),
    state: Type.Optional(OneOf(['present', 'absent'], 'present (default): gate and register; absent: deregister.')),
  },
  { additionalProperties: false, description: 'Registers a container in the service registry once it passes its health checks; the host watcher keeps it registered only while healthy.' },
);
