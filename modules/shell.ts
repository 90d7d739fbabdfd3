// `shell`: a command line run by /bin/sh -c (pipes, redirections, globs), like Ansible's shell.
// Same options and results as `command`, whose code it reuses.
import { Type, type Static } from '@sinclair/typebox';
import { planRun } from './command.js';
import { defineModule, failed } from './contract.js';

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

export const shell = defineModule({
  name: 'shell',
  schema: shellSchema,
  becomeUser: true,
  async plan(params, ctx) {
    const o = typeof params === 'string' ? { cmd: params } : params;
    if (o.cmd.trim() === '') return failed('shell.empty', 'shell has no command to run');
    return planRun([o.executable ?? '/bin/sh', '-c', o.cmd], o.cmd, o, ctx);
  },
});
