// `services.prune`: containers of this playbook whose service is gone from the playbook
// (orphans, Compose's --remove-orphans, always on), and leftovers of on-demand runs that a dead
// controller did not clean up. Named volumes stay: they hold data. A scheduled job that left
// the playbook loses its schedule first, so its timer cannot start it while it is removed.
import { defineModule, type Change } from '../../modules/contract.js';
import { PruneSpec } from '../../modules/service-spec.js';
import { engine } from './engine.js';
import { removeContainer } from './execute.js';
import { displayName } from './names.js';
import { observe } from './observe.js';
import { unschedule } from './schedule.js';
import { listSchedules } from '../watcher/schedule-files.js';

export const prune = defineModule({
  name: 'services.prune',
  schema: PruneSpec,
  async plan(spec) {
    const e = await engine();
    if (!e.ok) return e;
    const keep = new Set(spec.keep);
    const all = await observe(e.docker, spec.playbook);
    const gone = all.filter((c) => !keep.has(c.service) || (c.oneoff && c.state !== 'running'));
    // Highest replicas first, and sidecars before the containers whose namespaces they share.
    gone.sort((a, b) => a.service.localeCompare(b.service) || b.replica - a.replica || Number(a.role === '') - Number(b.role === ''));
    const timers = listSchedules(spec.playbook).filter((f) => f.playbook === spec.playbook && !keep.has(f.service));
    const changes: Change[] = [
      ...timers.map((f): Change => ({
        summary: `unschedule ${f.service}`,
        cause: `service ${f.service} is no longer in the playbook`,
        apply: async () => {
          unschedule(f.playbook, f.service);
          return { ok: true };
        },
      })),
      ...gone.map((c): Change => ({
        summary: `remove ${c.oneoff ? c.name : displayName(c.service, c.role, c.replica)}`,
        cause: c.oneoff ? 'leftover of an on-demand run' : `service ${c.service} is no longer in the playbook`,
        apply: async () => {
          try {
            await removeContainer(e.docker, c);
            return { ok: true };
          } catch (err) {
            return { ok: false, error: { code: 'services.engine', message: `remove ${c.name}: ${(err as Error).message}` } };
          }
        },
      })),
    ];
    return { ok: true, changes };
  },
});
