// `become_user` runs a task's own program (command, shell) as that user. Other modules act as the
// agent, root: a file written "as postgres" would still be written by root, so a become_user
// other than root on them is refused here instead of being quietly ignored.
import { catalog, moduleNames } from '../../modules/catalog.js';
import type { CatalogEntry } from '../../modules/catalog.js';
import type { DocPath } from './path.js';
import type { Finding } from './problems.js';
import { isTemplate } from './shape.js';

const runsAsUser = moduleNames.filter((m) => (catalog[m] as CatalogEntry).becomeUser);

export function checkBecomeUser(play: Record<string, unknown>, step: Record<string, unknown>, at: DocPath): Finding[] {
  const own = step.become_user;
  const user = own ?? play.become_user;
  // A templated user is only known per host: the agent refuses it there.
  if (typeof user !== 'string' || user === 'root' || isTemplate(user)) return [];
  const used = moduleNames.filter((m) => m in step);
  if (used.length !== 1 || (catalog[used[0]] as CatalogEntry).becomeUser) return [];
  const module = used[0];
  const words = runsAsUser.join(' and ');
  if (own !== undefined) {
    return [{ code: 'task.become-user', message: `become_user: ${module} acts as the agent (root) and cannot run as "${user}"`, path: [...at, 'become_user'], hint: `become_user applies to ${words}; a file's owner is set with owner: and group:` }];
  }
  return [
    {
      code: 'task.become-user',
      message: `this ${module} task would run as the play's become_user "${user}", but ${module} acts as the agent (root)`,
      path: [...at, module],
      key: true,
      hint: `add become_user: root to this task, or move become_user from the play to its ${words} tasks`,
    },
  ];
}
