// The `lineinfile` module's parameters: its schema alone, which the controller reads without the
// module's host-side code (modules/catalog.ts).
import { Type, type Static } from '@sinclair/typebox';
import { attrProperties } from '../lib/attrs.js';
import { OneOf } from '../lib/schema.js';

export const lineinfileSchema = Type.Object(
  {
    path: Type.String({ minLength: 1, description: 'The file to edit.' }),
    line: Type.Optional(Type.String({ description: 'The line that must be present (state: present), without its newline.' })),
    regexp: Type.Optional(Type.String({ minLength: 1, description: 'A JavaScript regular expression: present replaces the last matching line with `line`; absent removes every matching line.' })),
    state: Type.Optional(OneOf(['present', 'absent'], 'present (default) or absent.')),
    insertafter: Type.Optional(Type.String({ minLength: 1, description: 'When nothing matches: insert after the last line matching this regexp, or at EOF (default).' })),
    insertbefore: Type.Optional(Type.String({ minLength: 1, description: 'When nothing matches: insert before the last line matching this regexp, or BOF for the start.' })),
    firstmatch: Type.Optional(Type.Boolean({ description: 'Use the first line matching insertafter/insertbefore instead of the last.' })),
    backrefs: Type.Optional(Type.Boolean({ description: 'Expand $1, $2 in `line` from the regexp\'s groups; when nothing matches, change nothing.' })),
    create: Type.Optional(Type.Boolean({ description: 'Create the file when it does not exist (default false: that is an error).' })),
    ...attrProperties,
  },
  { additionalProperties: false, description: 'Ensures a single line is present in a file (or absent), replacing the line a regexp matches.' },
);
export type LineinfileParams = Static<typeof lineinfileSchema>;
