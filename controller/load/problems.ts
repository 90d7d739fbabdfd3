// A problem found in a file, with the position a person needs to find it. Every loader error is a
// BerthError (exit 2) that also keeps its line, column and document path apart, so that tests
// and `berth validate` can show them without parsing `where`.
import { ExitCode, type BerthError } from '../errors.js';
import { pathText, type DocPath } from './path.js';
import { tooLargeHint, tooLargeMessage } from './read-input.js';
import type { YamlSource } from './source.js';

export interface LoadError extends BerthError {
  file: string;
  line: number;
  col: number;
  /** Where inside the document, as people write it: `plays[0].services.web.ports[1]`. */
  path?: string;
}

export interface Finding {
  code: string;
  message: string;
  path: DocPath;
  /** Point at the key of the last path segment instead of its value (unknown keys). */
  key?: boolean;
  hint?: string;
}

/** Messages quote what the user wrote; a 100 kB value is shown by its start. */
const clip = (text: string | undefined): string | undefined => text?.replace(/"([^"\n]{60})[^"\n]{20,}"/g, '"$1..."');

export function locate(source: YamlSource, f: Finding): LoadError {
  const { line, col } = source.position(f.path, { key: f.key });
  return {
    code: f.code,
    message: clip(f.message)!,
    where: `${source.file}:${line}:${col}`,
    hint: clip(f.hint),
    exit: ExitCode.badInput,
    file: source.file,
    line,
    col,
    path: f.path.length ? pathText(f.path) : undefined,
  };
}

export function fileError(file: string, code: string, message: string, hint?: string, line = 1, col = 1): LoadError {
  return { code, message, where: `${file}:${line}:${col}`, hint, exit: ExitCode.badInput, file, line, col };
}

/** In file order, each problem once (a union and a semantic check can notice the same thing). */
export function sortProblems(errors: LoadError[]): LoadError[] {
  const seen = new Set<string>();
  const fileOrder = new Map<string, number>();
  for (const e of errors) if (!fileOrder.has(e.file)) fileOrder.set(e.file, fileOrder.size);
  const rank = (e: LoadError) => fileOrder.get(e.file) ?? 0;
  return errors
    .map((e, i) => ({ e, i }))
    .sort((a, b) => rank(a.e) - rank(b.e) || a.e.line - b.e.line || a.e.col - b.e.col || a.i - b.i)
    .map(({ e }) => e)
    .filter((e) => {
      const id = `${e.where}\u0000${e.message}`;
      if (seen.has(id)) return false;
      seen.add(id);
      return true;
    });
}

/** How `berth validate` prints a problem: position, message, then indented `at:` and `hint:`. */
export function formatProblem(e: LoadError): string {
  let out = `${e.where ?? e.file}: ${e.message}`;
  if (e.path) out += `\n  at: ${e.path}`;
  if (e.hint) out += `\n  hint: ${e.hint}`;
  return out;
}

/** A file over the size berth reads (read-input.ts): no line to point at, the file alone. */
export function tooLargeProblem(file: string, bytes: number): LoadError {
  return { ...fileError(file, 'file.too-large', tooLargeMessage(bytes), tooLargeHint, 0, 0), where: file };
}

/** A file that cannot be read, said plainly (no errno soup). */
export function readProblem(file: string, e: unknown): LoadError {
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  // No line to point at: `where` is the file alone, line and column 0.
  const whole = (c: string, message: string, hint?: string): LoadError => ({ ...fileError(file, c, message, hint, 0, 0), where: file });
  if (code === 'ENOENT') return whole('file.not-found', 'no such file', 'check the path (relative paths start from the current directory)');
  if (code === 'EISDIR') return whole('file.is-directory', 'is a directory, not a YAML file');
  if (code === 'EACCES' || code === 'EPERM') return whole('file.permission', 'permission denied while reading the file');
  return whole('file.unreadable', `cannot read the file: ${e instanceof Error ? e.message : String(e)}`);
}
