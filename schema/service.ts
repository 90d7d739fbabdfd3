// A service: Compose keys for the container, plus what berth adds on top: a health gate for
// rollouts, registration for discovery, sidecars, replicas, per-service update settings, jobs.
import { Type, type Static } from '@sinclair/typebox';
import { Deploy, DeployRef, composeProperties } from './compose.js';
import { Duration, MemorySize, Port, StringEnum, StringOrList, mapOf, nameExpected, nameKey, patterned, shared, strictObject } from './common.js';
import { RolloutRef } from './rollout.js';
import { RegistryMetaParam, RegistryNameParam, RegistryTagsParam } from './registry.js';

export const Health = strictObject(
  {
    http: Type.Optional(
      strictObject(
        {
          port: Port('Container port to probe.'),
          path: Type.Optional(Type.String({ pattern: '^/|\\{\\{', expected: 'a path starting with /', description: 'Request path (default: /).' })),
          status: Type.Optional(
            Type.Union([Type.Integer({ minimum: 100, maximum: 599 }), Type.Array(Type.Integer({ minimum: 100, maximum: 599 }), { minItems: 1 })], {
              description: 'Status code(s) that count as healthy (default: any 2xx or 3xx).',
            }),
          ),
          body: Type.Optional(Type.String({ description: 'Text the response body must contain.' })),
          host: Type.Optional(Type.String({ description: 'Host header to send.' })),
          scheme: Type.Optional(StringEnum(['http', 'https'], { description: 'http or https (certificates are not verified).' })),
        },
        { title: 'http probe', description: 'An HTTP GET against the container.', required: ['port'] },
      ),
    ),
    tcp: Type.Optional(strictObject({ port: Port('Container port that must accept a connection.') }, { title: 'tcp probe', description: 'A TCP connect to the container.', required: ['port'] })),
    exec: Type.Optional(StringOrList('A command run inside the container; exit 0 means healthy.')),
    interval: Type.Optional(Duration('Time between probes (default 2s).')),
    timeout: Type.Optional(Duration('Time one probe may take (default 2s).')),
    retries: Type.Optional(Type.Integer({ minimum: 0, description: 'Consecutive failures before the instance counts as unhealthy (default 3).' })),
    start_period: Type.Optional(Duration('Grace time after start during which failures do not count.')),
  },
  { title: 'health check', description: 'The probe that gates a rollout and registration: exactly one of http, tcp, exec.' },
);
export type Health = Static<typeof Health>;

export const Register = strictObject(
  {
    name: Type.Optional(RegistryNameParam('Name in the service registry (default: the service name).')),
    tags: Type.Optional(RegistryTagsParam('Tags for discovery queries (e.g. the version).')),
    port: Type.Optional(Port('Container port to advertise (default: the first published port).')),
    meta: Type.Optional(RegistryMetaParam('Free-form metadata stored with each instance (one line of text per name).')),
  },
  { title: 'registration', description: 'Register healthy instances in the service registry.' },
);

const Resources = strictObject(
  {
    memory: Type.Optional(MemorySize('Memory limit.')),
    memory_reservation: Type.Optional(MemorySize('Memory the container is guaranteed.')),
    cpus: Type.Optional(Type.Number({ minimum: 0, description: 'CPUs the container may use (fractions allowed).' })),
    cpu_shares: Type.Optional(Type.Integer({ minimum: 2, description: 'Relative CPU weight (default 1024).' })),
    pids: Type.Optional(Type.Integer({ minimum: 1, description: 'Most processes in the container.' })),
  },
  { title: 'resources', description: 'Limits of the container (short for mem_limit, cpus, cpu_shares, pids_limit).' },
);

const cronExpected = 'a cron schedule like "*/5 * * * *", "@daily" or "@every 30s"';
// The shape only (fields of values, ranges, steps, lists and 3-letter names): the agent's parser
// (lang/cron.ts) checks the ranges and refuses the rest with a message of its own.
const cronField = '(?:[*?]|[0-9]+|[A-Za-z]{3})(?:-(?:[0-9]+|[A-Za-z]{3}))?(?:/[0-9]+)?';
const cronList = `${cronField}(?:,${cronField})*`;
const cronPattern = `@(?:yearly|annually|monthly|weekly|daily|midnight|hourly)|@every\\s+(?:[0-9]+(?:\\.[0-9]+)?(?:ms|s|m|h|d)?)+|${cronList}(?:\\s+${cronList}){4,5}`;

const healthRef = shared('berth-health', Health);
const registerRef = shared('berth-register', Register);
const resourcesRef = shared('berth-resources', Resources);

const berthProperties = {
  health: Type.Optional(healthRef({ description: Health.description })),
  register: Type.Optional(registerRef({ description: Register.description })),
  resources: Type.Optional(resourcesRef({ description: Resources.description })),
};

export const Sidecar = strictObject(
  { ...composeProperties, ...berthProperties },
  {
    title: 'sidecar',
    description: 'A container that lives and dies with each instance of its service: it can share its volumes (volumes_from) or network (network_mode: "service:NAME").',
  },
);
export type Sidecar = Static<typeof Sidecar>;

export const Service = strictObject(
  {
    ...composeProperties,
    ...berthProperties,
    replicas: Type.Optional(Type.Integer({ minimum: 0, description: 'Containers of this service per host (default 1).' })),
    deploy: Type.Optional(DeployRef({ description: Deploy.description })),
    sidecars: Type.Optional(mapOf(shared('berth-sidecar', Sidecar)(), { description: 'Sidecar containers by name.', keyPattern: nameKey, keyExpected: nameExpected })),
    update: Type.Optional(RolloutRef('Rollout settings of this service (they win over the play\'s `rollout:`).')),
    schedule: Type.Optional(
      patterned(cronPattern, cronExpected, {
        description:
          'Run as a job on this schedule, in the host\'s time zone: 5-field cron (minute hour day-of-month month day-of-week; ranges, steps, lists, names), 6 fields with seconds first, @hourly/@daily/@weekly/@monthly/@yearly, or @every DURATION (e.g. @every 30s). The job\'s container is prepared by apply and started by the host\'s berth watcher at each due time; a run still going at the next due time makes that one skip. `berth ps` shows the next run and the last runs.',
      }),
    ),
    on_notify: Type.Optional(
      StringEnum(['restart', 'recreate'], {
        description:
          'What a task that notifies this service does to its running containers, once after the play\'s tasks: restart (default: the same containers restart and read the changed files) or recreate (new containers from the same spec replace them; named volumes are kept).',
      }),
    ),
    job: Type.Optional(Type.Boolean({ description: 'A one-shot container: run to completion instead of being kept running.' })),
    profiles: Type.Optional(Type.Array(Type.String({ minLength: 1 }), { description: 'Converge this service only when one of these profiles is selected.' })),
  },
  { title: 'service', description: 'A containerized workload: image and container spec, health, registration, sidecars and replicas.' },
);
export type Service = Static<typeof Service>;

export const Services = mapOf(Service, { description: 'Services by name.', keyPattern: nameKey, keyExpected: nameExpected });
