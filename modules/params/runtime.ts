// The `runtime` module's parameters: its schema alone, which the controller reads without the
// module's host-side code (modules/catalog.ts).
import { Type, type Static } from '@sinclair/typebox';
import { daemonSchema } from '../lib/docker-daemon-config.js';
import { OneOf } from '../lib/schema.js';

export const runtimeSchema = Type.Object(
  {
    engine: Type.Optional(OneOf(['docker'], 'The container engine; docker (Docker Engine) is the one berth drives.')),
    repo: Type.Optional(
      Type.String({ minLength: 1, description: 'An apt source line to install the engine from (e.g. "deb [trusted=yes] file:/srv/berth-apt ./"); without it, the host\'s own package sources.' }),
    ),
    packages: Type.Optional(
      Type.Array(Type.String({ minLength: 1 }), {
        minItems: 1,
        description: 'Packages that make up the engine (default: docker.io on Debian and Ubuntu; moby-engine on Fedora and docker on Alpine, both untested).',
      }),
    ),
    min_version: Type.Optional(Type.String({ minLength: 1, description: 'Fail when the engine is older than this version, e.g. "20.10".' })),
    daemon: Type.Optional(daemonSchema),
  },
  { additionalProperties: false, description: 'Installs Docker Engine, writes /etc/docker/daemon.json and keeps the engine running; restarts it only when that file changed.' },
);
export type RuntimeParams = Static<typeof runtimeSchema>;
