// Every module berth knows, with its host-side code: the catalog (modules/catalog.ts: names,
// schemas, become_user) paired with each module's plan. Only the agent's task runner reads this;
// the controller reads the catalog, so none of this code is in its import tree.
import { catalog, moduleNames, type ModuleName } from '../modules/catalog.js';
import { command } from '../modules/command.js';
import type { BerthModule } from '../modules/contract.js';
import { copy } from '../modules/copy.js';
import { file } from '../modules/file.js';
import { group } from '../modules/group.js';
import { image } from '../modules/image.js';
import { lineinfile } from '../modules/lineinfile.js';
import { pkg } from '../modules/package.js';
import { runtime } from '../modules/runtime.js';
import { ping } from '../modules/ping.js';
import { service } from '../modules/service.js';
import { shell } from '../modules/shell.js';
import { template } from '../modules/template.js';
import { user } from '../modules/user.js';
import { waitFor } from '../modules/wait-for.js';
import { ambassador } from './ambassador/module.js';
import { registration } from './registry/registration-module.js';
import { registryModule } from './registry/module.js';

const plans = {
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
  ambassador,
  registration,
  registry: registryModule,
} satisfies { [K in ModuleName]: BerthModule<(typeof catalog)[K]['schema']> };

// The catalog's word wins for what it declares, so a module cannot drift from what validation used.
export const modules = Object.fromEntries(
  moduleNames.map((name): [ModuleName, BerthModule] => [name, { ...(plans[name] as BerthModule), ...catalog[name] }]),
) as Record<ModuleName, BerthModule>;
