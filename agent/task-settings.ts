// A task's `become_user` and `environment` as the agent applies them: rendered here when they wait
// on results registered on this host, and the user looked up on this host (an earlier task of the
// plan may have created it).
import type { BerthModule } from '../modules/contract.js';
import { lookupRunAs, type RunAs } from '../modules/lib/run-as.js';
import type { HostFacts, PlannedTask } from '../protocol/agent-protocol.js';

export type TaskSettings = { ok: true; env?: Record<string, string>; runAs?: RunAs } | { ok: false; message: string };

export async function taskSettings(task: PlannedTask, mod: BerthModule, facts: HostFacts, vars: () => Record<string, unknown>): Promise<TaskSettings> {
  let { becomeUser, environment } = task;
  if (task.settingsDeferred) {
    const { missingVariable, renderDeep } = await import('../lang/templates.js');
    try {
      ({ becomeUser, environment } = renderDeep({ becomeUser, environment }, vars()) as Pick<PlannedTask, 'becomeUser' | 'environment'>);
    } catch (e) {
      const missing = missingVariable(e);
      return { ok: false, message: missing ? `variable "${missing}" is not defined (not registered by an earlier task on this host)` : `template: ${(e as Error).message}` };
    }
  }
  if (becomeUser === undefined || becomeUser === facts.user.name) return { ok: true, env: environment };
  // Like become, another user is reached from root: berth escalates per host, not per task.
  if (facts.user.uid !== 0) {
    return { ok: false, message: `become_user: running as ${becomeUser} needs root, but the agent on this host runs as ${facts.user.name}; set become: true on the host (inventory) so berth runs its agent through sudo` };
  }
  const user = await lookupRunAs(becomeUser);
  if (!user.ok) return { ok: false, message: user.error.message };
  if (user.value.uid === 0) return { ok: true, env: environment };
  if (!mod.becomeUser) return { ok: false, message: `become_user: ${task.module} runs as the agent (root); become_user applies to command and shell` };
  return { ok: true, env: environment, runAs: user.value };
}
