// The `shell` module's parameters: its schema alone, which the controller reads without the
// module's host-side code (modules/catalog.ts).
import { Type, type Static } from '@sinclair/typebox';

const Options = Type.Object(
  {
    cmd: Type.String({ minLength: 1, description: 'The command line, run by the shell.' }),
    chdir: Type.Optional(Type.String({ description: 'Working directory.' })),
    env: Type.Optional(Type.Record(Type.String(), Type.String(), { description: 'Extra environment variables.' })),
    creates: Type.Optional(Type.String({ description: 'Skip when this path exists.' })),
    removes: Type.Optional(Type.String({ description: 'Skip unless this path exists.' })),
    stdin: Type.Optional(Type.String({ description: 'Text written to the command\'s standard input.' })),
    executable: Type.Optional(Type.String({ minLength: 1, description: 'The shell to run it with (default /bin/sh); it is called as `<executable> -c <cmd>`.' })),
  },
  { additionalProperties: false },
);

export const shellSchema = Type.Union([Type.String({ minLength: 1 }), Options], {
  description: 'Runs a command line through a shell on the host (pipes, redirections, variables).',
});
export type ShellParams = Static<typeof shellSchema>;
