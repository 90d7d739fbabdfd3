// The `image` module's parameters: its schema alone, which the controller reads without the
// module's host-side code (modules/catalog.ts).
import { Type, type Static } from '@sinclair/typebox';
import { OneOf } from '../lib/schema.js';

const KeyValues = (description: string) =>
  Type.Union([Type.Record(Type.String(), Type.Union([Type.String(), Type.Number(), Type.Boolean()])), Type.Array(Type.String({ pattern: '^[^=]+=' }))], {
    description: `${description} A mapping, or a list of "KEY=value".`,
  });

export const buildSchema = Type.Union(
  [
    Type.String({ minLength: 1, description: 'Directory with a Dockerfile, relative to the playbook.' }),
    Type.Object(
      {
        context: Type.String({ minLength: 1, description: 'Directory sent to the builder, relative to the playbook (on the host with remote_src).' }),
        dockerfile: Type.Optional(Type.String({ minLength: 1, description: 'Dockerfile path inside the context (default: Dockerfile).' })),
        args: Type.Optional(KeyValues('Build arguments (ARG).')),
        target: Type.Optional(Type.String({ minLength: 1, description: 'Stage of a multi-stage Dockerfile to build.' })),
        labels: Type.Optional(KeyValues('Labels for the built image.')),
        remote_src: Type.Optional(Type.Boolean({ description: 'The context is a directory on the host, not next to the playbook (Ansible\'s remote_src).' })),
      },
      { additionalProperties: false, description: 'How to build the image (Compose\'s build keys).' },
    ),
  ],
  { description: 'Build the image from a directory: a path, or build options. The image\'s tag is the hash of the context and options; a host that has it builds nothing.' },
);

const authSchema = Type.Object(
  {
    username: Type.String({ minLength: 1, description: 'Registry user.' }),
    password: Type.String({ minLength: 1, description: 'Password or token; give it from a secret var so that it is masked in all output.' }),
    registry: Type.Optional(Type.String({ minLength: 1, description: 'Registry these credentials are for (default: the registry in the image name, or the push registry).' })),
  },
  { additionalProperties: false, description: 'Registry credentials for pull and push.' },
);

export const imageSchema = Type.Object(
  {
    name: Type.String({ minLength: 1, description: 'The image\'s name on the host, e.g. lab/busybox or registry.example:5000/team/web:1.2; built and shipped images are also tagged with it.' }),
    build: Type.Optional(buildSchema),
    builder: Type.Optional(
      OneOf(['host', 'controller'], 'Where `build` runs: on each host (default), or once on the controller\'s engine, then shipped to hosts over SSH, each receiving only the layers it lacks.'),
    ),
    ship: Type.Optional(Type.Boolean({ description: 'Take the image `name` from the controller\'s engine and ship it over SSH (only the layers a host lacks); no registry involved.' })),
    pull: Type.Optional(Type.Boolean({ description: 'For images from a registry: true pulls when the registry has a newer digest, false never pulls. Default: pull only when missing.' })),
    push: Type.Optional(
      Type.Object(
        {
          registry: Type.String({ minLength: 1, description: 'Registry address, e.g. 10.0.0.1:5000.' }),
          repository: Type.Optional(Type.String({ minLength: 1, description: 'Repository in the registry (default: the name without registry and tag).' })),
          tag: Type.Optional(Type.String({ minLength: 1, description: 'Tag (default: the content-hash tag of a build, else the name\'s tag).' })),
        },
        { additionalProperties: false, description: 'Push the image to a registry (skipped when the registry already has this digest).' },
      ),
    ),
    auth: Type.Optional(authSchema),
    keep: Type.Optional(Type.Integer({ minimum: 1, description: 'Images of this name (built by berth) a host keeps; older ones are removed unless a container uses them. Default 5.' })),
    state: Type.Optional(OneOf(['present', 'absent'], 'present (default), or absent: remove the image and berth\'s builds of it.')),
  },
  { additionalProperties: false, description: 'Builds, ships or pulls an image (and pushes it), keeping the last few builds of each name.' },
);
export type ImageParams = Static<typeof imageSchema>;
