// The pipeline every YAML file goes through: parse with positions, then the schema, then the
// checks a schema cannot express; every problem located at file:line:column, in file order.
import { err, ok, type Result } from '../errors.js';
import { tooDeepHint, tooDeepMessage, tooDeepPath } from './nesting.js';
import { locate, sortProblems, fileError, type Finding, type LoadError } from './problems.js';
import { explainSchemaErrors } from './schema-errors.js';
import { parseYaml, type YamlSource } from './source.js';
import { documentErrors, type RootName } from './validators.js';
import { syntaxErrors } from './yaml-errors.js';

export interface Parsed {
  source: YamlSource;
  /** The document as plain data (null for an empty file). */
  data: unknown;
}

/** YAML text to data. Duplicate keys are reported but do not stop the schema from looking too. */
export function parseStage(file: string, text: string): { parsed?: Parsed; errors: LoadError[] } {
  const { source, errors } = parseYaml(file, text);
  const syntax = syntaxErrors(source, errors);
  if (errors.some((e) => e.code !== 'DUPLICATE_KEY')) return { errors: syntax };
  let data: unknown;
  try {
    data = source.doc.toJS({ maxAliasCount: 1000 });
  } catch (e) {
    // Only an alias bomb or an alias to nothing gets here.
    return { errors: [...syntax, fileError(file, 'yaml.syntax', `cannot expand the document: ${e instanceof Error ? e.message : String(e)}`)] };
  }
  // The text was not too deep, but aliases inside aliases can make the data so.
  const deep = tooDeepPath(data);
  // The position says where; a path of a hundred [0]s would say nothing more.
  if (deep) return { errors: [...syntax, { ...locate(source, { code: 'yaml.too-deep', message: tooDeepMessage, path: deep, hint: tooDeepHint }), path: undefined }] };
  return { parsed: { source, data: data ?? null }, errors: syntax };
}

/** Schema and semantic findings of parsed data, located in its file. */
export function checkStage(parsed: Parsed, root: RootName, semantic: (data: unknown) => Finding[]): LoadError[] {
  const findings = [...explainSchemaErrors(documentErrors(root, parsed.data)), ...semantic(parsed.data)];
  return findings.map((f) => locate(parsed.source, f));
}

export function analyze(
  file: string,
  text: string,
  root: RootName,
  semantic: (data: unknown) => Finding[],
  opts: { emptyOk?: boolean; what?: string } = {},
): Result<Parsed, LoadError[]> {
  const { parsed, errors } = parseStage(file, text);
  if (!parsed) return err(sortProblems(errors));
  if (parsed.data === null) {
    if (opts.emptyOk) return errors.length ? err(sortProblems(errors)) : ok(parsed);
    return err([fileError(file, 'yaml.empty', `the file is empty; expected ${opts.what ?? 'a YAML mapping'}`)]);
  }
  const all = sortProblems([...errors, ...checkStage(parsed, root, semantic)]);
  return all.length ? err(all) : ok(parsed);
}
