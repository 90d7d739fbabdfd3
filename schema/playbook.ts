// A playbook: where the hosts come from, shared vars, and plays. A play targets a host pattern
// and holds tasks (host configuration), services (containers) and how to roll them out.
import { Type, type Static } from '@sinclair/typebox';
import { StringEnum, StringOrList, TaskEnvironment, Vars, mapOf, nameExpected, nameKey, patterned, strictObject } from './common.js';
import { Inventory } from './inventory.js';
import { RolloutRef } from './rollout.js';
import { Services } from './service.js';
import { Handler, Task } from './task.js';

const provider = <N extends string>(name: N) => Type.Literal(name, { description: 'Which provider supplies the hosts.' });

/** Extra groups a provider's hosts are arranged in: group -> host names. */
const providerGroups = (description: string) =>
  Type.Optional(mapOf(Type.Array(Type.String({ minLength: 1 }), { description: 'Host names.' }), { description, keyPattern: nameKey, keyExpected: nameExpected }));

export const LabRef = strictObject(
  {
    provider: provider('lab'),
    name: Type.Optional(Type.String({ pattern: '^[a-z0-9][a-z0-9-]*$', expected: 'a lab name of lowercase letters, digits and -', description: 'Which lab (default: the playbook\'s name).' })),
    hosts: Type.Optional(Type.Integer({ minimum: 1, maximum: 256, description: 'How many machine containers the lab starts.' })),
    init: Type.Optional(
      StringEnum(['tini', 'systemd'], {
        description: 'What the lab\'s hosts run as PID 1 (`berth lab up --init`): a run refuses a lab whose hosts run the other, and the hint to start the lab says it.',
      }),
    ),
    groups: providerGroups('Groups to arrange the lab\'s hosts (h1, h2, ...) in, so plays can target them: {web: [h1, h2], db: [h3]}.'),
  },
  { title: 'lab inventory', description: 'Hosts from a local lab of machine containers that berth starts.', required: ['provider'] },
);

export const StaticRef = strictObject(
  { provider: provider('static'), file: Type.String({ minLength: 1, description: 'Inventory file, relative to the playbook.' }) },
  { title: 'static inventory', description: 'Hosts from an inventory file.', required: ['provider', 'file'] },
);

export const VagrantRef = strictObject(
  {
    provider: provider('vagrant'),
    dir: Type.Optional(Type.String({ minLength: 1, description: 'Directory of the Vagrantfile (default: the playbook\'s directory).' })),
    groups: providerGroups('Groups besides those named after the machines (web1 -> web): {db: [db1]}.'),
  },
  { title: 'vagrant inventory', description: 'Hosts from the machines of a Vagrantfile (`vagrant ssh-config`).', required: ['provider'] },
);

export const PulumiRef = strictObject(
  {
    provider: provider('pulumi'),
    stack: Type.Optional(Type.String({ minLength: 1, description: 'Pulumi stack whose outputs list the hosts.' })),
    outputs_file: Type.Optional(Type.String({ minLength: 1, description: 'A saved `pulumi stack output --json`, instead of asking Pulumi.' })),
    dir: Type.Optional(Type.String({ minLength: 1, description: 'The Pulumi project folder, relative to the playbook (default: the playbook\'s folder).' })),
  },
  { title: 'pulumi inventory', description: 'Hosts from the outputs of a Pulumi stack.', required: ['provider'] },
);

export const providerNames = ['lab', 'static', 'vagrant', 'pulumi'] as const;

export const InventoryRef = Type.Union([Type.String({ minLength: 1, description: 'Inventory file, relative to the playbook.' }), Inventory, LabRef, StaticRef, VagrantRef, PulumiRef], {
  description: 'Where the hosts come from: an inventory file, an inline inventory, or a provider ({provider: lab|static|vagrant|pulumi, ...}).',
  expected: 'an inventory file path, an inline inventory (hosts, groups), or {provider: lab|static|vagrant|pulumi, ...}',
  unionTag: 'provider',
});
export type InventoryRef = Static<typeof InventoryRef>;

export const Secret = Type.Union(
  [
    strictObject({ env: Type.String({ minLength: 1, description: 'Environment variable of the controller that holds the value.' }) }, { title: 'secret from the environment', description: 'A secret read from an environment variable.', required: ['env'] }),
    strictObject({ file: Type.String({ minLength: 1, description: 'File on the controller holding the value (relative to the playbook; a trailing newline is dropped).' }) }, { title: 'secret from a file', description: 'A secret read from a file.', required: ['file'] }),
  ],
  { description: 'Where a secret value comes from.', expected: '{env: NAME} or {file: path}' },
);

/**
 * Credentials for one registry, as `docker login` keeps them per registry host (and Kamal's
 * `registry:` names them): the password only ever from a secret, so that it is masked.
 */
export const RegistryLogin = strictObject(
  {
    username: Type.String({ minLength: 1, description: 'User at the registry.' }),
    password: patterned('(?!)', 'a secret var, like "{{ registry_password }}" (never the password itself)', {
      description: 'The password or token: a template naming a secret var (secrets:), so that it is masked in every output and never written in the playbook.',
    }),
  },
  { title: 'registry login', description: 'A user and password for one registry.', required: ['username', 'password'] },
);

/** A network or a volume a play's services share, as Compose declares them. */
export const ResourceDecl = Type.Union(
  [
    Type.Null({ description: 'Defaults: a bridge network, a local volume.' }),
    strictObject(
      {
        name: Type.Optional(Type.String({ minLength: 1, description: 'Name on the host (default: <playbook>_<key>).' })),
        driver: Type.Optional(Type.String({ minLength: 1, description: 'Network or volume driver.' })),
        driver_opts: Type.Optional(Vars('Options for the driver.')),
        labels: Type.Optional(Vars('Labels set on the network or volume.')),
        external: Type.Optional(Type.Boolean({ description: 'Created outside berth: use it, never create or remove it.' })),
        internal: Type.Optional(Type.Boolean({ description: 'Network only: no route outside.' })),
        attachable: Type.Optional(Type.Boolean({ description: 'Network only: standalone containers may join.' })),
      },
      { title: 'network or volume', description: 'A network or volume the play declares.' },
    ),
  ],
  { description: 'A network or volume declaration.', expected: 'null or {name, driver, driver_opts, labels, external, internal, attachable}' },
);

const hostsExpected = 'a host pattern like "web", "all", "web:&prod" or "web:!h3"';

export const Play = strictObject(
  {
    name: Type.Optional(Type.String({ minLength: 1, description: 'What the play is for, shown in the run output.' })),
    hosts: Type.String({
      pattern: '^[^\\s,:]+(?:[,:][!&]?[^\\s,:]+)*$|\\{\\{',
      expected: hostsExpected,
      description: 'Host pattern: groups and hosts joined by ":" or "," (union), ":&" (intersection), ":!" (exclusion); `all` is every host.',
    }),
    vars: Type.Optional(Vars('Variables of this play (they win over the playbook\'s and the inventory\'s).')),
    vars_files: Type.Optional(Type.Array(Type.String({ minLength: 1 }), { description: 'YAML files of variables, relative to the playbook.' })),
    become: Type.Optional(Type.Boolean({ description: 'Run the play\'s tasks through sudo.' })),
    become_user: Type.Optional(Type.String({ minLength: 1, description: 'Run the play\'s command and shell tasks as this user (a task\'s own become_user wins); tasks of other modules must say `become_user: root`.' })),
    environment: Type.Optional(TaskEnvironment('Environment variables of every program the play\'s tasks run (a task\'s own environment wins); not of services, which have their own.')),
    tags: Type.Optional(StringOrList('Tags applied to every task of the play.')),
    tasks: Type.Optional(Type.Array(Task, { description: 'Host configuration steps, in order.' })),
    handlers: Type.Optional(Type.Array(Handler, { description: 'Tasks run once at the end of the play when notified.' })),
    services: Type.Optional(Services),
    compose: Type.Optional(Type.String({ minLength: 1, description: 'A docker-compose.yml (relative to the playbook) whose services join this play\'s.' })),
    networks: Type.Optional(mapOf(ResourceDecl, { description: 'Networks the play\'s services use, as in Compose.', keyPattern: nameKey, keyExpected: nameExpected })),
    volumes: Type.Optional(mapOf(ResourceDecl, { description: 'Named volumes the play\'s services use, as in Compose.', keyPattern: nameKey, keyExpected: nameExpected })),
    rollout: Type.Optional(RolloutRef('How the play reaches its hosts: batches, failure budget, health gates.')),
  },
  { title: 'play', description: 'Tasks and services for the hosts that match a pattern.', required: ['hosts'] },
);
export type Play = Static<typeof Play>;

export const Playbook = strictObject(
  {
    name: Type.Optional(Type.String({ minLength: 1, description: 'Name of the playbook (release history is kept under it; default: the file name).' })),
    inventory: Type.Optional(InventoryRef),
    vars: Type.Optional(Vars('Variables of every play.')),
    vars_files: Type.Optional(Type.Array(Type.String({ minLength: 1 }), { description: 'YAML files of variables, relative to the playbook.' })),
    secrets: Type.Optional(
      mapOf(Secret, {
        description: 'Variables whose values are secret: read from the environment or a file when the run starts, masked in every output, diff, event and log.',
        keyPattern: '^[A-Za-z_][A-Za-z0-9_]*$',
        keyExpected: 'a variable name (letters, digits and _)',
      }),
    ),
    registries: Type.Optional(
      mapOf(RegistryLogin, {
        description: 'Logins for the registries services pull their images from, by registry host (docker.io for Docker Hub), as `docker login` keeps them.',
        keyPattern: '^[A-Za-z0-9][A-Za-z0-9.-]*(?::[0-9]{1,5})?$',
        keyExpected: 'a registry host like registry.example.com, 10.0.0.5:5000 or docker.io',
      }),
    ),
    plays: Type.Array(Play, { minItems: 1, description: 'The plays, run in order.' }),
  },
  { title: 'playbook', description: 'A berth playbook: inventory, vars and plays.', required: ['plays'] },
);
export type Playbook = Static<typeof Playbook>;
