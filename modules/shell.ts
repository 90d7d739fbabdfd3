// `shell`: a command line run by /bin/sh -c (pipes, redirections, globs), like Ansible's shell.
// Same options and results as `command`, whose code it reuses.
import { planRun } from './command.js';
import { defineModule, failed } from './contract.js';
import { shellSchema, type ShellParams } from './params/shell.js';

export { shellSchema, type ShellParams };

export const shell = defineModule({
  name: 'shell',
  schema: shellSchema,
  async plan(params, ctx) {
    const o = typeof params === 'string' ? { cmd: params } : params;
    if (o.cmd.trim() === '') return failed('shell.empty', 'shell has no command to run');
    return planRun([o.executable ?? '/bin/sh', '-c', o.cmd], o.cmd, o, ctx);
  },
});
