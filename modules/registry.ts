// Every module berth knows, by the key a task uses for it. The playbook schema and the agent's
// task runner both read this list, so a module exists in one place only.
import { command } from './command.js';
import type { BerthModule } from './contract.js';
import { ping } from './ping.js';

export const modules = {
  command,
  ping,
} satisfies Record<string, BerthModule>;

export type ModuleName = keyof typeof modules;
export const moduleNames = Object.keys(modules) as ModuleName[];
