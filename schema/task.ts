// Tasks are written Ansible style: one module key (its parameters come from the module's own
// schema in modules/catalog.ts) next to common keys. "Exactly one module" is checked after the
// schema (controller/load/semantic-playbook.ts) so that the message can name what it found.
import { Type, type Static, type TOptional, type TUnsafe } from '@sinclair/typebox';
import { catalog, moduleNames, type ModuleName } from '../modules/catalog.js';
import { StringOrList, TaskEnvironment, Vars, shared, strictObject } from './common.js';

type ModuleProperties = { [K in ModuleName]: TOptional<TUnsafe<Static<(typeof catalog)[K]['schema']>>> };

// Each module's schema is declared once and referenced from tasks and handlers alike.
const moduleProperties = Object.fromEntries(
  moduleNames.map((name) => {
    const schema = catalog[name].schema;
    return [name, Type.Optional(shared(`berth-module-${name}`, schema)({ description: schema.description ?? `The ${name} module.` }))];
  }),
) as ModuleProperties;

const Condition = (description: string) =>
  Type.Union([Type.String({ minLength: 1 }), Type.Boolean(), Type.Array(Type.String({ minLength: 1 }))], {
    description: `${description} An expression, true/false, or a list of expressions that must all hold.`,
  });

const commonProperties = {
  name: Type.Optional(Type.String({ minLength: 1, description: 'What the task does, shown in the run output.' })),
  when: Type.Optional(Condition('Run the task only when this holds.')),
  loop: Type.Optional(Type.Union([Type.Array(Type.Unknown()), Type.String({ minLength: 1 })], { description: 'Run the task once per item: a list, or a `{{ variable }}` holding one.' })),
  loop_var: Type.Optional(Type.String({ pattern: '^[A-Za-z_][A-Za-z0-9_]*$', expected: 'a variable name', description: 'Name of the loop variable (default: item).' })),
  register: Type.Optional(Type.String({ pattern: '^[A-Za-z_][A-Za-z0-9_]*$', expected: 'a variable name', description: 'Keep the task\'s result in this variable for later tasks.' })),
  notify: Type.Optional(StringOrList('Handlers (by name or `listen` topic) to run at the end of the play when this task changed something.')),
  tags: Type.Optional(StringOrList('Tags for `--tags` / `--skip-tags`.')),
  become: Type.Optional(Type.Boolean({ description: 'Run as root (or `become_user`) through sudo.' })),
  become_user: Type.Optional(Type.String({ minLength: 1, description: 'Run the command or shell as this user (the agent must run as root). Other modules act as root: for them only `root` is accepted.' })),
  vars: Type.Optional(Vars('Variables for this task only.')),
  changed_when: Type.Optional(Condition('Report "changed" only when this holds.')),
  failed_when: Type.Optional(Condition('Report "failed" when this holds, whatever the module said.')),
  ignore_errors: Type.Optional(Type.Boolean({ description: 'Go on with the play when this task fails.' })),
  environment: Type.Optional(TaskEnvironment('Environment variables of every program the task runs (command, shell, the package manager, systemctl, ...); they win over the play\'s.')),
  no_log: Type.Optional(Type.Boolean({ description: 'Hide the task\'s parameters and output (secrets).' })),
};

/** Keys a task may carry besides its module. */
export const taskKeys = Object.keys(commonProperties);

export const Task = strictObject(
  { ...commonProperties, ...moduleProperties },
  { title: 'task', description: `One step: exactly one module (${moduleNames.join(', ')}) plus common keys.` },
);
export type Task = Static<typeof Task>;

export const Handler = strictObject(
  {
    ...commonProperties,
    listen: Type.Optional(StringOrList('Topics this handler also answers to in `notify`.')),
    ...moduleProperties,
  },
  { title: 'handler', description: 'A task that runs once at the end of the play when a task notified it.' },
);
export type Handler = Static<typeof Handler>;

export { moduleNames };
