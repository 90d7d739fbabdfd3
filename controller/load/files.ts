// Files a playbook refers to (inventory, vars files, templates, build contexts, env files) must
// exist on the controller before anything connects, and templates must parse. Paths are relative
// to the playbook; templated ones (`{{ }}`) are only known per host and are left to the plan.
import { statSync } from 'node:fs';
import { isAbsolute, join, relative } from 'node:path';
import { analyze } from './analyze.js';
import type { DocPath } from './path.js';
import { locate, readProblem, tooLargeProblem, type Finding, type LoadError } from './problems.js';
import { readInput } from './read-input.js';
import { templateSyntax } from '../../lang/template-syntax.js';
import { ExitCode } from '../errors.js';
import { asList, asRecord, entries, isTemplate } from './shape.js';
import type { YamlSource } from './source.js';

type Kind = 'file' | 'dir';

export function checkReferencedFiles(source: YamlSource, data: unknown, dir: string): LoadError[] {
  const found: Finding[] = [];
  const problems: LoadError[] = [];
  const need = (value: unknown, path: DocPath, kind: Kind, what: string): string | undefined => {
    if (typeof value !== 'string' || isTemplate(value)) return undefined;
    const full = isAbsolute(value) ? value : join(dir, value);
    const is = kindOf(full);
    if (is === kind) return full;
    const rel = relative(process.cwd(), full);
    const shown = rel && !rel.startsWith('..') ? rel : full;
    found.push({
      code: 'playbook.missing-file',
      message: is ? `${what} ${JSON.stringify(value)} is a ${is === 'dir' ? 'directory' : 'file'}, expected a ${kind === 'dir' ? 'directory' : 'file'}` : `${what} ${JSON.stringify(value)} does not exist`,
      path,
      hint: `paths are relative to the playbook's directory (looked for ${shown})`,
    });
    return undefined;
  };
  const varsFile = (value: unknown, path: DocPath) => {
    const full = need(value, path, 'file', 'vars file');
    if (full) problems.push(...checkVarsFile(full));
  };

  const pb = asRecord(data);
  const inv = pb.inventory;
  if (typeof inv === 'string') need(inv, ['inventory'], 'file', 'inventory file');
  const ref = asRecord(inv);
  if (ref.provider === 'static') need(ref.file, ['inventory', 'file'], 'file', 'inventory file');
  if (ref.provider === 'vagrant' && ref.dir !== undefined) need(ref.dir, ['inventory', 'dir'], 'dir', 'Vagrant directory');
  if (ref.provider === 'pulumi' && ref.outputs_file !== undefined) need(ref.outputs_file, ['inventory', 'outputs_file'], 'file', 'Pulumi outputs file');
  asList(pb.vars_files).forEach((f, i) => varsFile(f, ['vars_files', i]));

  asList(pb.plays).forEach((p, i) => {
    const play = asRecord(p);
    asList(play.vars_files).forEach((f, j) => varsFile(f, ['plays', i, 'vars_files', j]));
    for (const list of ['tasks', 'handlers'] as const) {
      asList(play[list]).forEach((t, j) => {
        const full = need(asRecord(asRecord(t).template).src, ['plays', i, list, j, 'template', 'src'], 'file', 'template');
        if (full) problems.push(...checkTemplateFile(full, source.where(['plays', i, list, j])));
      });
    }
    for (const [name, s] of entries(play.services)) {
      const at: DocPath = ['plays', i, 'services', name];
      containerFiles(asRecord(s), at, need, found);
      for (const [side, sc] of entries(asRecord(s).sidecars)) containerFiles(asRecord(sc), [...at, 'sidecars', side], need, found);
    }
  });
  return [...found.map((f) => locate(source, f)), ...problems];
}

function containerFiles(c: Record<string, unknown>, at: DocPath, need: (v: unknown, p: DocPath, k: Kind, what: string) => string | undefined, found: Finding[]): void {
  const build = c.build;
  const b = typeof build === 'string' ? { context: build } : asRecord(build);
  const contextAt: DocPath = typeof build === 'string' ? [...at, 'build'] : [...at, 'build', 'context'];
  const ctx = need(b.context, contextAt, 'dir', 'build context');
  const dockerfile = typeof b.dockerfile === 'string' ? b.dockerfile : 'Dockerfile';
  if (ctx && !isTemplate(dockerfile) && kindOf(join(ctx, dockerfile)) !== 'file') {
    found.push({
      code: 'playbook.missing-file',
      message: `build context ${JSON.stringify(b.context)} has no ${JSON.stringify(dockerfile)}`,
      path: b.dockerfile === undefined ? contextAt : [...at, 'build', 'dockerfile'],
      hint: 'the Dockerfile path is relative to the build context',
    });
  }
  const envFiles = c.env_file;
  if (typeof envFiles === 'string') need(envFiles, [...at, 'env_file'], 'file', 'env file');
  else asList(envFiles).forEach((f, i) => need(f, [...at, 'env_file', i], 'file', 'env file'));
}

function kindOf(path: string): Kind | undefined {
  try {
    const st = statSync(path);
    return st.isDirectory() ? 'dir' : 'file';
  } catch {
    return undefined;
  }
}

/** A template file must parse as handlebars; its mistakes point into it, as a template error at render time does. */
function checkTemplateFile(file: string, task: string): LoadError[] {
  let text: string;
  try {
    const r = readInput(file);
    // Templates have no size limit of their own: a big one is rendered (and reported) at plan time.
    if (!r.ok) return [];
    text = r.text;
  } catch (e) {
    return [readProblem(file, e)];
  }
  const problem = templateSyntax(text);
  if (!problem) return [];
  const rel = relative(process.cwd(), file);
  const shown = rel && !rel.startsWith('..') ? rel : file;
  const at = problem.col === undefined ? `${shown}:${problem.line}` : `${shown}:${problem.line}:${problem.col}`;
  return [{ code: 'template.syntax', message: `template syntax error: ${problem.message}`, where: at, hint: `in the template of the task at ${task}`, exit: ExitCode.badInput, file: shown, line: problem.line, col: problem.col ?? 0 }];
}

/** A vars file is YAML holding a mapping of variables; its mistakes point into it. */
function checkVarsFile(file: string): LoadError[] {
  let text: string;
  try {
    const r = readInput(file);
    if (!r.ok) return [tooLargeProblem(file, r.bytes)];
    text = r.text;
  } catch (e) {
    return [readProblem(file, e)];
  }
  const result = analyze(file, text, 'vars', () => [], { emptyOk: true, what: 'a mapping of variables' });
  return result.ok ? [] : result.error;
}
