// A task's `become_user` and `environment` for its plan: the task's own win over the play's,
// values become strings (as a program sees them), templates are rendered like the task's
// parameters, and left for the agent when they use a result registered on the host.
import type { PlannedTask } from '../../protocol/agent-protocol.js';
import { ok, type Result } from '../errors.js';
import type { PlayShape, TaskShape } from './playbook-shape.js';
import { renderValue, type RenderScope } from './render.js';

type Settings = Pick<PlannedTask, 'becomeUser' | 'environment' | 'settingsDeferred'>;

export function taskSettings(play: PlayShape, task: TaskShape, scope: RenderScope, where: string, registered: ReadonlySet<string>): Result<Settings> {
  const becomeUser = task.become_user ?? play.become_user;
  const merged = play.environment || task.environment ? { ...play.environment, ...task.environment } : undefined;
  if (becomeUser === undefined && merged === undefined) return ok({});
  const environment = merged && Object.fromEntries(Object.entries(merged).map(([k, v]) => [k, String(v)]));
  const r = renderValue({ becomeUser, environment }, scope, where, registered);
  if (!r.ok) return r;
  const value = r.value.value as Settings;
  return ok({ becomeUser: value.becomeUser, environment: value.environment, settingsDeferred: r.value.deferred || undefined });
}
