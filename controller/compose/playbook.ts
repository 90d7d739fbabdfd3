// The Compose files a playbook names (`compose:` in a play), each loaded with the berth vars of
// its play, when the playbook itself is loaded: `berth validate` and every command that runs a
// playbook find their problems before any host is contacted.
import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { analyze } from '../load/analyze.js';
import type { LoadError } from '../load/problems.js';
import { locate } from '../load/problems.js';
import { asList, asRecord } from '../load/shape.js';
import type { YamlSource } from '../load/source.js';
import { projectName } from '../services/project.js';
import { loadCompose, type ComposeProject } from './load.js';

export interface PlaybookCompose {
  /** Each play's Compose file, by the play's index. */
  plays: Map<number, ComposeProject>;
  /** The project name the Compose files give (their top-level `name:`), when the playbook has no `name:`. */
  name?: string;
  warnings: LoadError[];
}

type Env = Record<string, string | undefined>;

/**
 * Where a loaded play carries its Compose file for the run (a symbol: it is no key of the
 * playbook, copies of the play keep it, and nothing serializes it).
 */
export const composeOfPlay: unique symbol = Symbol('berth.compose');
export interface PlayWithCompose {
  [composeOfPlay]?: ComposeProject;
}

/** Hands each play of a run its loaded Compose file. */
export function attachCompose(plays: object[], compose: PlaybookCompose): void {
  for (const [i, c] of compose.plays) if (plays[i]) (plays[i] as PlayWithCompose)[composeOfPlay] = c;
}

/** Every problem of every Compose file the playbook names, for the loader (empty when there is none). */
export function checkComposeFiles(source: YamlSource, data: unknown, dir: string, env: Env = process.env): LoadError[] {
  const r = loadPlaybookCompose(source, data, dir, env);
  return r.ok ? [] : r.error;
}

export function loadPlaybookCompose(source: YamlSource, data: unknown, dir: string, env: Env = process.env): { ok: true; value: PlaybookCompose } | { ok: false; error: LoadError[] } {
  const pb = asRecord(data);
  const problems: LoadError[] = [];
  const plays = new Map<number, ComposeProject>();
  const warnings: LoadError[] = [];
  const shownDir = dirname(source.file);
  const base = { ...asRecord(pb.vars), ...varsFiles(pb.vars_files, dir) };
  asList(pb.plays).forEach((p, i) => {
    const play = asRecord(p);
    if (typeof play.compose !== 'string' || play.compose === '') return;
    const at = ['plays', i, 'compose'];
    const r = loadCompose({
      path: play.compose,
      baseDir: dir,
      shownDir,
      vars: { ...base, ...asRecord(play.vars), ...varsFiles(play.vars_files, dir) },
      env,
      play: { services: Object.keys(asRecord(play.services)), networks: Object.keys(asRecord(play.networks)), volumes: Object.keys(asRecord(play.volumes)) },
      atReference: (code, message, hint) => locate(source, { code, message, hint, path: at }),
    });
    if (!r.ok) problems.push(...r.error);
    else {
      plays.set(i, r.value);
      warnings.push(...r.value.warnings);
    }
  });

  // The Compose file's `name:` is the project's name (containers, volumes, networks, releases)
  // unless the playbook names itself: berth's project is the playbook, so there is one name.
  let name: string | undefined;
  const own = typeof pb.name === 'string' ? projectName(pb.name, source.file) : undefined;
  for (const c of plays.values()) {
    if (c.name === undefined) continue;
    if (own !== undefined) {
      if (c.name !== own) warnings.push({ ...locateIn(c, ['name']), code: 'compose.name-ignored', message: `the project is named ${JSON.stringify(own)} by the playbook's name:, not ${JSON.stringify(c.name)}`, hint: 'remove one of the two names, or make them the same' });
    } else if (name === undefined) name = c.name;
    else if (c.name !== name) {
      problems.push({ ...locateIn(c, ['name']), code: 'compose.name-conflict', message: `this Compose file names the project ${JSON.stringify(c.name)}, another one of the playbook ${JSON.stringify(name)}`, hint: 'a playbook is one project: give the playbook a name: (it wins), or use the same name in both files', exit: 2 });
    }
  }
  if (problems.length) return { ok: false, error: problems };
  return { ok: true, value: { plays, name, warnings } };
}

/** Where a path inside a Compose file is, in the fields of a LoadError. */
function locateIn(c: ComposeProject, path: Array<string | number>): Pick<LoadError, 'where' | 'file' | 'line' | 'col'> {
  const { line, col } = c.position(path);
  return { where: c.where(path), file: c.file, line, col };
}

/** The variables of vars files, merged in order; a file that cannot be read is the loader's to report. */
function varsFiles(files: unknown, dir: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const f of asList(files)) {
    if (typeof f !== 'string') continue;
    const path = isAbsolute(f) ? f : resolve(dir, f);
    try {
      // As the loader reads vars files (merge keys, no process warnings); its problems are the loader's to report.
      const r = analyze(path, readFileSync(path, 'utf8'), 'vars', () => [], { emptyOk: true });
      if (r.ok) Object.assign(out, asRecord(r.value.data));
    } catch {
      // Unreadable: reported by the loader's own check of vars files.
    }
  }
  return out;
}
