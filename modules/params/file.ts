// The `file` module's parameters: its schema alone, which the controller reads without the
// module's host-side code (modules/catalog.ts).
import { Type, type Static } from '@sinclair/typebox';
import { attrProperties } from '../lib/attrs.js';
import { OneOf } from '../lib/schema.js';

export const fileSchema = Type.Object(
  {
    path: Type.String({ minLength: 1, description: 'Path on the host.' }),
    state: Type.Optional(
      OneOf(['file', 'directory', 'absent', 'touch', 'link'], 'file: must exist, set attributes (default); directory: create with parents; absent: remove (recursively); touch: create an empty file if missing; link: symlink to src.'),
    ),
    src: Type.Optional(Type.String({ minLength: 1, description: 'Target of the symlink (state: link).' })),
    force: Type.Optional(Type.Boolean({ description: 'state link: replace a file or empty directory that is in the way (default false).' })),
    recursive: Type.Optional(Type.Boolean({ description: 'state directory: also apply owner, group and mode to everything inside.' })),
    ...attrProperties,
  },
  { additionalProperties: false, description: 'Manages a path\'s kind (file, directory, symlink, absent) and its mode, owner and group.' },
);
export type FileParams = Static<typeof fileSchema>;
