// Every module berth knows, by the key a task uses for it, with what the controller needs to know
// of it statically: its parameters' schema and whether `become_user` applies. No host-side code:
// the controller and the playbook schema read this file; the agent's task runner reads the full
// registry (agent/modules.ts), which pairs each entry here with its plan and uses the same schema.
import type { TSchema } from '@sinclair/typebox';
import { ambassadorSchema } from './params/ambassador.js';
import { commandSchema } from './params/command.js';
import { copySchema } from './params/copy.js';
import { fileSchema } from './params/file.js';
import { groupSchema } from './params/group.js';
import { imageSchema } from './params/image.js';
import { lineinfileSchema } from './params/lineinfile.js';
import { packageSchema } from './params/package.js';
import { pingSchema } from './params/ping.js';
import { registrationSchema } from './params/registration.js';
import { registrySchema } from './params/registry.js';
import { runtimeSchema } from './params/runtime.js';
import { serviceSchema } from './params/service.js';
import { shellSchema } from './params/shell.js';
import { templateSchema } from './params/template.js';
import { userSchema } from './params/user.js';
import { waitForSchema } from './params/wait-for.js';

export interface CatalogEntry<S extends TSchema = TSchema> {
  schema: S;
  /**
   * The module runs a program the playbook names (command, shell), which `become_user` runs as
   * that user. Other modules act as the agent (root), and validation refuses become_user on them.
   */
  becomeUser?: true;
}

const entry = <S extends TSchema>(schema: S, more: Omit<CatalogEntry<S>, 'schema'> = {}): CatalogEntry<S> => ({ schema, ...more });

export const catalog = {
  command: entry(commandSchema, { becomeUser: true }),
  copy: entry(copySchema),
  file: entry(fileSchema),
  group: entry(groupSchema),
  image: entry(imageSchema),
  lineinfile: entry(lineinfileSchema),
  package: entry(packageSchema),
  ping: entry(pingSchema),
  runtime: entry(runtimeSchema),
  service: entry(serviceSchema),
  shell: entry(shellSchema, { becomeUser: true }),
  template: entry(templateSchema),
  user: entry(userSchema),
  wait_for: entry(waitForSchema),
  // Service registration and discovery.
  ambassador: entry(ambassadorSchema),
  registration: entry(registrationSchema),
  registry: entry(registrySchema),
};

export type ModuleName = keyof typeof catalog;
export const moduleNames = Object.keys(catalog) as ModuleName[];
