// Every module berth knows, by the key a task uses for it. The playbook schema and the agent's
// task runner both read this list, so a module exists in one place only.
import { command } from './command.js';
import type { BerthModule } from './contract.js';
import { copy } from './copy.js';
import { file } from './file.js';
import { group } from './group.js';
import { lineinfile } from './lineinfile.js';
import { pkg } from './package.js';
import { ping } from './ping.js';
import { service } from './service.js';
import { shell } from './shell.js';
import { template } from './template.js';
import { user } from './user.js';
import { waitFor } from './wait-for.js';

export const modules = {
  command,
  copy,
  file,
  group,
  lineinfile,
  package: pkg,
  ping,
  service,
  shell,
  template,
  user,
  wait_for: waitFor,
} satisfies Record<string, BerthModule>;

export type ModuleName = keyof typeof modules;
export const moduleNames = Object.keys(modules) as ModuleName[];
