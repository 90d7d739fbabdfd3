// The `command` module's parameters: its schema alone, which the controller reads without the
// module's host-side code (modules/catalog.ts).
import { Type, type Static } from '@sinclair/typebox';

export const Options = Type.Object(
  {
    argv: Type.Optional(Type.Array(Type.String(), { minItems: 1, description: 'Program and arguments, run without a shell.' })),
    cmd: Type.Optional(Type.String({ minLength: 1, description: 'A command line split into words by shell quoting rules, without any expansion ($, globs) and with no pipes or redirections.' })),
    chdir: Type.Optional(Type.String({ description: 'Working directory.' })),
    env: Type.Optional(Type.Record(Type.String(), Type.String(), { description: 'Extra environment variables.' })),
    creates: Type.Optional(Type.String({ description: 'Skip when this path exists.' })),
    removes: Type.Optional(Type.String({ description: 'Skip unless this path exists.' })),
    stdin: Type.Optional(Type.String({ description: 'Text written to the program\'s standard input.' })),
  },
  { additionalProperties: false },
);

export const commandSchema = Type.Union([Type.String({ minLength: 1 }), Type.Array(Type.String(), { minItems: 1 }), Options], {
  description: 'Runs a program on the host (no shell): a command line, an argv list, or options.',
});
export type CommandParams = Static<typeof commandSchema>;
