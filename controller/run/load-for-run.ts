// What a run needs from the loader: the validated playbook (with vars_files merged in, by the
// documented precedence, and each play's Compose file read), a way to point at any place in it,
// and what the loader warned about.
import { resolve } from 'node:path';
import { attachCompose, loadPlaybookCompose } from '../compose/playbook.js';
import { loadInventory, loadPlaybook, loadVarsFile } from '../load/index.js';
import { err, ok, type BerthError, type Result } from '../errors.js';
import type { InventoryDoc } from '../inventory/resolve.js';
import type { PlaybookShape } from './playbook-shape.js';

type Vars = Record<string, unknown>;

export interface LoadedForRun {
  /** Absolute path of the playbook. */
  path: string;
  doc: PlaybookShape & { inventory?: unknown; name?: string };
  where: (path: Array<string | number>) => string;
  /** Said once before the run (a Compose variable that is not set, ...); they do not stop it. */
  warnings: BerthError[];
}

export function loadForRun(file: string): Result<LoadedForRun, BerthError[]> {
  const loaded = loadPlaybook(file);
  if (!loaded.ok) return loaded;
  const pb = loaded.value;
  const doc = structuredClone(pb.data) as unknown as LoadedForRun['doc'] & { vars_files?: string[]; plays: Array<PlaybookShape['plays'][number] & { vars_files?: string[] }> };
  const problems: BerthError[] = [];
  // Read as the loader read them for validate (merge keys, the same limits, no process warnings).
  const readVars = (files: string[] | undefined, at: Array<string | number>): Vars => {
    const out: Vars = {};
    (files ?? []).forEach((f, i) => {
      const r = loadVarsFile(resolve(pb.dir, f));
      if (r.ok) Object.assign(out, r.value.data);
      // A file that cannot be read has no line of its own: the playbook's line names it.
      else problems.push(...r.error.map((e) => (e.line > 0 ? e : { ...e, message: `vars file ${f}: ${e.message}`, where: pb.where([...at, i]) })));
    });
    return out;
  };
  // vars_files sit just above the vars beside them: playbook vars < playbook vars_files, and
  // play vars < play vars_files (as in Ansible).
  doc.vars = { ...(doc.vars ?? {}), ...readVars(doc.vars_files, ['vars_files']) };
  doc.plays.forEach((play, i) => {
    if (play.vars_files) play.vars = { ...(play.vars ?? {}), ...readVars(play.vars_files, ['plays', i, 'vars_files']) };
  });
  if (problems.length) return err(problems);
  const compose = loadPlaybookCompose(pb.source, pb.data, pb.dir);
  if (!compose.ok) return compose;
  attachCompose(doc.plays, compose.value);
  // A Compose file's top-level name: names the project when the playbook does not.
  if (doc.name === undefined && compose.value.name !== undefined) doc.name = compose.value.name;
  return ok({ path: resolve(pb.file), doc, where: (p) => pb.where(p), warnings: compose.value.warnings });
}

export function loadInventoryForRun(file: string): Result<InventoryDoc, BerthError[]> {
  const loaded = loadInventory(file);
  return loaded.ok ? ok(loaded.value.data as InventoryDoc) : loaded;
}
