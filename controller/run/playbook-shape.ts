// The parts of a validated playbook that a run reads. The schema (schema/) is the source of
// truth; this view keeps the run independent of keys it does not use yet.
import { moduleNames } from '../../modules/catalog.js';

type Vars = Record<string, unknown>;

export interface TaskShape {
  name?: string;
  vars?: Vars;
  notify?: string | string[];
  ignore_errors?: boolean;
  when?: unknown;
  register?: unknown;
  loop?: unknown;
  loop_var?: unknown;
  tags?: unknown;
  changed_when?: unknown;
  failed_when?: unknown;
  no_log?: unknown;
  become?: boolean;
  become_user?: string;
  environment?: Record<string, string | number | boolean>;
  [key: string]: unknown;
}

export interface PlayShape {
  name?: string;
  hosts: string;
  vars?: Vars;
  vars_files?: string[];
  become?: boolean;
  become_user?: string;
  environment?: Record<string, string | number | boolean>;
  tags?: string | string[];
  tasks?: TaskShape[];
  handlers?: TaskShape[];
}

export interface PlaybookShape {
  name?: string;
  vars?: Vars;
  plays: PlayShape[];
}

/** The task's module key; validation guarantees there is exactly one. */
export function taskModule(task: TaskShape): string {
  const found = Object.keys(task).find((k) => (moduleNames as string[]).includes(k));
  if (!found) throw new Error(`bug: task without a module reached the run: ${JSON.stringify(task)}`);
  return found;
}

export function taskName(task: TaskShape, module: string): string {
  if (task.name) return task.name;
  const p = task[module];
  const brief = typeof p === 'string' ? p : Array.isArray(p) ? p.join(' ') : p && typeof p === 'object' ? JSON.stringify(p) : '';
  return brief ? `${module}: ${brief.length > 60 ? brief.slice(0, 57) + '...' : brief}` : module;
}
