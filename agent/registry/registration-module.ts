// `registration`: one container as an instance of a service in the registry, the way a service's
// `register:` does it for containers berth creates: gate it on its health checks (never
// register what is not healthy), then hand it to the watcher, which keeps it registered while it
// stays healthy. `state: absent` takes it out (drain before stopping it).
import { converged, defineModule, failed } from '../../modules/contract.js';
import { parseDuration } from '../../modules/lib/duration.js';
import { docker as dockerClient } from '../docker-client.js';
import { waitHealthy } from '../health/gate.js';
import { describeHealth, normalizeHealth } from '../health/spec.js';
import { watcherPlan } from '../watcher/ensure.js';
import { readInstance, readStatus, sameRegistration } from './instance-files.js';
import { deregisterInstance, instanceFor, registerInstance } from './register-instance.js';
import { registrationSchema } from '../../modules/params/registration.js';

export { registrationSchema };

const DEFAULT_DEADLINE_MS = 60_000;

export const registration = defineModule({
  name: 'registration',
  schema: registrationSchema,
  async plan(p, ctx) {
    const docker = await dockerClient();
    if (p.state === 'absent') {
      const id = p.container.replace(/^\//, '');
      if (!readInstance(id)) return converged({ registered: false });
      return {
        ok: true,
        changes: [{ summary: `deregister ${id} from ${p.name}`, cause: 'state: absent', apply: async () => ((r) => (r.ok ? { ok: true as const } : r))(await deregisterInstance(id, ctx.facts)) }],
      };
    }
    const health = normalizeHealth(p.health);
    if (!health.ok) return health;
    const ms = (v: string | number | undefined, what: string) => (v === undefined ? undefined : (parseDuration(v) ?? `${what}: "${String(v)}" is not a duration`));
    const deadline = ms(p.deadline, 'deadline') ?? DEFAULT_DEADLINE_MS;
    const ttl = ms(p.ttl, 'ttl');
    const restartAfter = ms(p.restart_after, 'restart_after');
    for (const v of [deadline, ttl, restartAfter]) if (typeof v === 'string') return failed('registration.params', v);

    const req = {
      container: p.container,
      service: p.name,
      port: p.port,
      tags: p.tags,
      release: p.release,
      meta: p.meta,
      health: health.value,
      ttlMs: ttl as number | undefined,
      restartAfterMs: restartAfter as number | undefined,
    };
    const file = await instanceFor(req, docker);
    if (!file.ok) return file;
    const id = file.value.id;
    const status = readStatus(id);
    const current = readInstance(id);
    if (current && sameRegistration(current, file.value) && status?.registered && status.containerId === file.value.containerId && watcherPlan().action === 'running') {
      return converged({ instance: status });
    }
    return {
      ok: true,
      changes: [
        {
          summary: `register ${id} as ${p.name} once healthy (${describeHealth(health.value)})`,
          cause: !current ? 'not registered' : !sameRegistration(current, file.value) ? 'registration differs' : status?.registered ? 'the watcher must be upgraded' : `not registered now (${status?.health ?? 'unknown'})`,
          apply: async () => {
            const gate = await waitHealthy(id, health.value, Date.now() + (deadline as number), ctx.signal, {
              docker,
              onCheck: (round, ok, output) => ctx.progress(`health check ${round}: ${ok ? 'passing' : output}`, round),
            });
            if (!gate.ok) return { ok: false, error: { code: gate.error.code, message: gate.error.message, detail: gate.error.detail }, data: { lastOutput: gate.error.lastOutput, logs: gate.error.logs } };
            const r = await registerInstance({ ...req, gatedAt: new Date().toISOString() }, ctx.facts, { signal: ctx.signal });
            return r.ok ? { ok: true, data: { instance: r.value, gate: { checks: gate.checks, ms: gate.ms } } } : r;
          },
        },
      ],
    };
  },
});
