// `group`: a local group, through groupadd/groupmod/groupdel; current state from the group
// database (getent), never from a tool's messages.
import { runArgv } from './command.js';
import { defineModule, failed, type Change } from './contract.js';
import { getent } from './lib/ids.js';
import { groupSchema, type GroupParams } from './params/group.js';

export { groupSchema, type GroupParams };

export const group = defineModule({
  name: 'group',
  schema: groupSchema,
  async plan(p, ctx) {
    const current = await getent('group', p.name);
    const changes: Change[] = [];
    const run = (argv: string[]) => () => runArgv(argv, {}, ctx);
    if ((p.state ?? 'present') === 'absent') {
      if (current) changes.push({ summary: `remove group ${p.name}`, cause: 'exists', apply: run(['groupdel', p.name]) });
      return { ok: true, changes };
    }
    if (!current) {
      if (p.gid !== undefined) {
        const taken = await getent('group', String(p.gid));
        if (taken) return failed('group.gid-taken', `gid ${p.gid} already belongs to group ${taken.name}`);
      }
      const argv = ['groupadd', ...(p.gid !== undefined ? ['-g', String(p.gid)] : []), ...(p.system ? ['-r'] : []), p.name];
      changes.push({ summary: `create group ${p.name}${p.gid !== undefined ? ` (gid ${p.gid})` : ''}`, cause: 'missing', apply: run(argv) });
    } else if (p.gid !== undefined && current.id !== p.gid) {
      changes.push({ summary: `gid of group ${p.name}: ${current.id} -> ${p.gid}`, cause: 'gid differs', apply: run(['groupmod', '-g', String(p.gid), p.name]) });
    }
    return { ok: true, changes, data: current ? { gid: current.id } : undefined };
  },
});
