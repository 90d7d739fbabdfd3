// `services.restart`: a task that changed a file a service mounts notified the service. Its
// running containers are restarted once, after the play's tasks (a handler), so they read the
// new file. A container started during this run (just created or replaced) already read it, and
// one not running has nothing to restart. With `on_notify: recreate` the same containers are
// replaced instead (recreate-notified.ts).
import { defineModule } from '../../modules/contract.js';
import { RestartSpec } from '../../modules/service-spec.js';
import { engine } from './engine.js';
import { displayName } from './names.js';
import { observe } from './observe.js';
import { recreateNotified } from './recreate-notified.js';

export const restart = defineModule({
  name: 'services.restart',
  schema: RestartSpec,
  async plan(spec, ctx) {
    const e = await engine();
    if (!e.ok) return e;
    // The agent lives for one run: what started after it did, started after the notifying task.
    const runStarted = Date.now() - process.uptime() * 1000;
    const observed = (await observe(e.docker, spec.playbook, spec.service)).filter((c) => !c.oneoff);
    const all = observed.filter((c) => c.state === 'running');
    const running: typeof all = [];
    for (const c of all) {
      const info = await e.docker.getContainer(c.id).inspect();
      if (Date.parse(info.State.StartedAt) < runStarted) running.push(c);
    }
    if (spec.mode === 'recreate') {
      if (!spec.spec) return { ok: false, error: { code: 'services.params', message: `recreate ${spec.service}: the handler carries no service spec` } };
      return recreateNotified(e.docker, spec.spec, observed, running, ctx);
    }
    // The service's own container first; sidecars in its namespaces follow it.
    running.sort((a, b) => Number(b.role === '') - Number(a.role === '') || a.replica - b.replica);
    return {
      ok: true,
      changes: running.map((c) => ({
        summary: `restart ${displayName(c.service, c.role, c.replica)}`,
        cause: 'notified',
        apply: async () => {
          try {
            await e.docker.getContainer(c.id).restart();
            return { ok: true };
          } catch (err) {
            return { ok: false, error: { code: 'services.engine', message: `restart ${c.name}: ${(err as Error).message}` } };
          }
        },
      })),
    };
  },
});
