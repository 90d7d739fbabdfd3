// What the playbook schema cannot say: one module per task, conditions that parse, notify naming
// a handler of the play, services referring to services that exist, a health check with one
// probe. Runs on whatever parsed, even when the schema failed, so a person sees every mistake in
// one run.
import { parseSchedule } from '../../lang/cron.js';
import { moduleNames } from '../../modules/catalog.js';
import { Handler } from '../../schema/task.js';
import type { DocPath } from './path.js';
import type { Finding } from './problems.js';
import { checkBecomeUser } from './become-user.js';
import { checkConditions } from './conditions.js';
import { checkHostPatterns } from './host-patterns.js';
import { checkInlineTemplates } from './inline-templates.js';
import { checkInventory } from './semantic-inventory.js';
import { asList, asRecord, entries, isTemplate, oneOrMany } from './shape.js';
import { didYouMean, shortList } from './suggest.js';

const modules = new Set<string>(moduleNames);
const stepKeys = new Set(Object.keys(Handler.properties));

export function checkPlaybook(data: unknown): Finding[] {
  const pb = asRecord(data);
  const found: Finding[] = [];
  const inv = pb.inventory;
  if (inv !== null && typeof inv === 'object' && !('provider' in (inv as object))) {
    found.push(...checkInventory(inv, ['inventory']), ...checkHostPatterns(pb, inv, 'the inline inventory'));
  }
  // A task may notify a service (restarted once after the play's tasks) as well as a handler.
  const services = new Set(asList(pb.plays).flatMap((p) => Object.keys(asRecord(asRecord(p).services))));
  asList(pb.plays).forEach((play, i) => found.push(...checkPlay(asRecord(play), ['plays', i], services)));
  return found;
}

function checkPlay(play: Record<string, unknown>, at: DocPath, services: Set<string>): Finding[] {
  const found: Finding[] = [];
  const handlers = asList(play.handlers);
  const topics = new Set<string>(services);
  handlers.forEach((h, j) => {
    const handler = asRecord(h);
    if (typeof handler.name === 'string') topics.add(handler.name);
    for (const { value } of oneOrMany(handler.listen)) if (typeof value === 'string') topics.add(value);
    if (handler.name === undefined && handler.listen === undefined && Object.keys(handler).length) {
      found.push({
        code: 'playbook.handler-name',
        message: 'a handler needs a name (or listen) for notify to find it',
        path: [...at, 'handlers', j],
        hint: 'add name: restart web, then notify: restart web in a task',
      });
    }
  });
  for (const list of ['tasks', 'handlers'] as const) {
    asList(play[list]).forEach((t, j) => {
      // A step that is not a mapping at all is the schema's to report.
      if (t === null || typeof t !== 'object' || Array.isArray(t)) return;
      const step = asRecord(t);
      const stepAt: DocPath = [...at, list, j];
      // With a Compose file the service names are only known once it is read (at apply).
      found.push(...moduleCount(step, stepAt), ...checkConditions(step, stepAt), ...checkBecomeUser(play, step, stepAt), ...(play.compose ? [] : notifyTargets(step, stepAt, topics)));
    });
  }
  found.push(...checkServices(asRecord(play.services), [...at, 'services']), ...checkInlineTemplates(play, at));
  return found;
}

function moduleCount(step: Record<string, unknown>, at: DocPath): Finding[] {
  const keys = Object.keys(step);
  const used = keys.filter((k) => modules.has(k));
  // An unknown key is reported as an unknown module already; "found none" would only repeat it.
  const unknown = keys.filter((k) => !stepKeys.has(k) && !k.startsWith('x-'));
  if (used.length === 1 || (used.length === 0 && unknown.length > 0)) return [];
  if (used.length === 0) {
    return [
      {
        code: 'playbook.module-count',
        message: 'a task needs exactly one module: found none',
        path: at,
        hint: `add one of berth's modules: ${moduleNames.join(', ')}`,
      },
    ];
  }
  const names = used.map((u) => JSON.stringify(u));
  const list = used.length === 2 ? `both ${names[0]} and ${names[1]}` : `${names.slice(0, -1).join(', ')} and ${names[names.length - 1]}`;
  return [
    {
      code: 'playbook.module-count',
      message: `a task needs exactly one module: found ${list}`,
      path: [...at, used[1]],
      key: true,
      hint: `split it into one task per module (berth's modules: ${moduleNames.join(', ')})`,
    },
  ];
}

function notifyTargets(step: Record<string, unknown>, at: DocPath, topics: Set<string>): Finding[] {
  return oneOrMany(step.notify).flatMap(({ value, index }) => {
    if (typeof value !== 'string' || isTemplate(value) || topics.has(value)) return [];
    return [
      {
        code: 'playbook.unknown-handler',
        message: `notify names no handler of this play and no service: ${JSON.stringify(value)}`,
        path: index === undefined ? [...at, 'notify'] : [...at, 'notify', index],
        hint: didYouMean(value, topics) ?? (topics.size ? `this play's handlers: ${shortList([...topics])}` : 'this play has no handlers: add one under `handlers:` with this name'),
      },
    ];
  });
}

function checkServices(services: Record<string, unknown>, at: DocPath): Finding[] {
  const found: Finding[] = [];
  const names = new Set(entries(services).map(([n]) => n));
  for (const [name, s] of entries(services)) {
    // A service that is not a mapping at all is the schema's to report.
    if (s === null || typeof s !== 'object' || Array.isArray(s)) continue;
    const svc = asRecord(s);
    const svcAt: DocPath = [...at, name];
    const sidecars = new Set(entries(svc.sidecars).map(([n]) => n));
    // A service may point at the play's other services and its own sidecars.
    const reachable = new Set([...names, ...sidecars]);
    found.push(...containerChecks(svc, svcAt, `service ${JSON.stringify(name)}`, name, reachable));
    found.push(...dependencies(svc, svcAt, name, names));
    if (typeof svc.schedule === 'string' && !isTemplate(svc.schedule)) {
      const parsed = parseSchedule(svc.schedule);
      if (!parsed.ok) found.push({ code: 'service.schedule', message: `service ${JSON.stringify(name)}: ${parsed.error.message}`, path: [...svcAt, 'schedule'], hint: 'five cron fields (minute hour day-of-month month day-of-week), a macro like "@daily", or "@every 30s"' });
    }
    if (svc.schedule !== undefined && svc.job === false) {
      found.push({ code: 'service.schedule-not-job', message: `service ${JSON.stringify(name)} has a schedule but job: false`, path: [...svcAt, 'job'], hint: 'a scheduled service runs to completion each time: drop job: false' });
    }
    const replicas = typeof svc.replicas === 'number' ? svc.replicas : 1;
    if (svc.container_name !== undefined && replicas > 1) {
      found.push({ code: 'service.container-name', message: `service ${JSON.stringify(name)} sets container_name but runs ${replicas} replicas`, path: [...svcAt, 'container_name'], key: true, hint: 'container names are unique per host: remove container_name and let berth name the replicas' });
    }
    for (const [side, sc] of entries(svc.sidecars)) {
      if (sc === null || typeof sc !== 'object' || Array.isArray(sc)) continue;
      // A sidecar may point at its service, the service's other sidecars and the play's services.
      const near = new Set([...names, ...sidecars].filter((n) => n !== side));
      found.push(...containerChecks(asRecord(sc), [...svcAt, 'sidecars', side], `sidecar ${JSON.stringify(side)}`, side, near));
    }
  }
  found.push(...dependencyCycles(services, at));
  return found;
}

/** Checks that services and sidecars share: an image to run, references, a health probe, ports. */
function containerChecks(c: Record<string, unknown>, at: DocPath, what: string, self: string, reachable: Set<string>): Finding[] {
  const found: Finding[] = [];
  if (c.image === undefined && c.build === undefined) {
    found.push({ code: 'service.no-image', message: `${what} needs an image or a build`, path: at, key: true, hint: 'add image: NAME, or build: DIRECTORY (relative to the playbook)' });
  }
  if (c.pull_policy === 'build' && c.build === undefined) {
    found.push({ code: 'service.pull-policy', message: `${what}: pull_policy: build needs build: (there is nothing to build)`, path: [...at, 'pull_policy'], hint: 'add build: (a folder with a Dockerfile), or use missing, always or never' });
  }
  const ref = (name: string, path: DocPath, key: string) => {
    if (isTemplate(name) || reachable.has(name)) return;
    const self_ = name === self;
    found.push({
      code: self_ ? 'service.self-reference' : 'service.unknown-reference',
      message: self_ ? `${what} cannot take ${key} from itself` : `${what}: ${key} names ${JSON.stringify(name)}, which is not a service of this play`,
      path,
      hint: self_ ? undefined : (didYouMean(name, reachable) ?? (reachable.size ? `known: ${shortList([...reachable])}` : undefined)),
    });
  };
  asList(c.volumes_from).forEach((v, i) => {
    if (typeof v !== 'string' || v.startsWith('container:')) return;
    ref(v.replace(/:(ro|rw)$/, ''), [...at, 'volumes_from', i], 'volumes_from');
  });
  for (const key of ['network_mode', 'pid', 'ipc'] as const) {
    const v = c[key];
    if (typeof v === 'string' && v.startsWith('service:')) ref(v.slice('service:'.length), [...at, key], key);
  }
  const health = asRecord(c.health);
  if (c.health !== undefined && Object.keys(health).length > 0) {
    const probes = ['http', 'tcp', 'exec'].filter((p) => health[p] !== undefined);
    if (probes.length !== 1) {
      found.push({
        code: 'service.health-probe',
        message: `${what}: a health check needs exactly one of http, tcp, exec; found ${probes.length ? probes.join(' and ') : 'none'}`,
        path: [...at, 'health'],
        hint: 'e.g. health: { http: { port: 80, path: /healthz } }',
      });
    }
  }
  asList(c.ports).forEach((p, i) => {
    if (typeof p !== 'string' || isTemplate(p)) return;
    // The pattern checks the shape; the numbers need arithmetic.
    const spec = p.replace(/^(\d{1,3}(\.\d{1,3}){3}|\[[^\]]*\]):/, '').replace(/\/\w+$/, '');
    const bad = spec.split(/[:-]/).find((n) => n !== '' && (Number(n) < 1 || Number(n) > 65535));
    if (bad !== undefined) found.push({ code: 'schema.range', message: `ports[${i}]: port ${bad} is out of range, expected 1 to 65535`, path: [...at, 'ports', i] });
  });
  return found;
}

function dependsOnNames(svc: Record<string, unknown>): { name: string; path: DocPath }[] {
  const d = svc.depends_on;
  if (Array.isArray(d)) return d.flatMap((n, i) => (typeof n === 'string' ? [{ name: n, path: ['depends_on', i] }] : []));
  return Object.keys(asRecord(d)).map((n) => ({ name: n, path: ['depends_on', n] }));
}

function dependencies(svc: Record<string, unknown>, at: DocPath, self: string, names: Set<string>): Finding[] {
  return dependsOnNames(svc).flatMap(({ name, path }) => {
    if (name === self) return [{ code: 'service.self-dependency', message: `service ${JSON.stringify(self)} depends on itself`, path: [...at, ...path], key: !Array.isArray(svc.depends_on) }];
    if (names.has(name)) return [];
    const others = [...names].filter((n) => n !== self);
    return [
      {
        code: 'service.unknown-dependency',
        message: `service ${JSON.stringify(self)} depends on ${JSON.stringify(name)}, which is not a service of this play`,
        path: [...at, ...path],
        key: !Array.isArray(svc.depends_on),
        hint: didYouMean(name, others) ?? (others.length ? `services of this play: ${shortList(others)}` : 'this play has no other services'),
      },
    ];
  });
}

function dependencyCycles(services: Record<string, unknown>, at: DocPath): Finding[] {
  const found: Finding[] = [];
  const state = new Map<string, 'open' | 'done'>();
  const trail: string[] = [];
  const visitService = (name: string) => {
    state.set(name, 'open');
    trail.push(name);
    for (const { name: dep, path } of dependsOnNames(asRecord(services[name]))) {
      if (dep === name || !(dep in services)) continue;
      if (state.get(dep) === 'open') {
        const loop = [...trail.slice(trail.indexOf(dep)), dep];
        found.push({ code: 'service.dependency-cycle', message: `services depend on each other in a cycle: ${loop.join(' -> ')}`, path: [...at, name, ...path], hint: 'one of them has to start first: remove one depends_on' });
      } else if (!state.has(dep)) {
        visitService(dep);
      }
    }
    trail.pop();
    state.set(name, 'done');
  };
  for (const [name] of entries(services)) if (!state.has(name)) visitService(name);
  return found;
}
