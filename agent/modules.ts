// Every module berth knows, by the key a task uses for it. The playbook schema and the agent's
// task runner both read this list, so a module exists in one place only.
import { command } from './command.js';
import type { BerthModule } from './contract.js';
import { copy } from './copy.js';
import { file } from './file.js';
import { group } from './group.js';
import { image } from './image.js';
import { lineinfile } from './lineinfile.js';
import { pkg } from './package.js';
import { runtime } from './runtime.js';
import { ping } from './ping.js';
import { service } from './service.js';
import { shell } from './shell.js';
import { template } from './template.js';
import { user } from './user.js';
import { waitFor } from './wait-for.js';
import { ambassador } from '../agent/ambassador/module.js';
import { registration } from '../agent/registry/registration-module.js';
import { registryModule } from '../agent/registry/module.js';

export const modules = {
  command,
  copy,
  file,
  group,
  image,
  lineinfile,
  package: pkg,
  ping,
  runtime,
  service,
  shell,
  template,
  user,
  wait_for: waitFor,
  // Service registration and discovery (agent/registry/, agent/ambassador/).
  ambassador,
  registration,
  registry: registryModule,
} satisfies Record<string, BerthModule>;

export type ModuleName = keyof typeof modules;
export const moduleNames = Object.keys(modules) as ModuleName[];
