// Loading playbooks and inventories: the only door through which YAML enters berth. What comes
// out is typed, valid, free of `x-` extension keys, and still knows where each value was written,
// so later stages (templates, plans) can point at file:line:column too.
import { dirname, isAbsolute, join, resolve as resolvePath } from 'node:path';
import type { TSchema } from '@sinclair/typebox';
import { Inventory } from '../../schema/inventory.js';
import { Playbook } from '../../schema/playbook.js';
import { err, ok, type Result } from '../errors.js';
import { analyze, checkStage, parseStage, type Parsed } from './analyze.js';
import { checkComposeFiles } from '../compose/playbook.js';
import { checkReferencedFiles } from './files.js';
import { fromText, type DocPath } from './path.js';
import { fileError, locate, readProblem, sortProblems, tooLargeProblem, type Finding, type LoadError } from './problems.js';
import { readInput } from './read-input.js';
import { checkHostPatterns } from './host-patterns.js';
import { checkInventory } from './semantic-inventory.js';
import { checkPlaybook } from './semantic-playbook.js';
import type { Position, YamlSource } from './source.js';
import { stripExtensions } from './strip.js';

export type { LoadError } from './problems.js';
export { formatProblem } from './problems.js';
export type { DocPath } from './path.js';
export { pathText } from './path.js';

interface Loaded<K extends string, T> {
  kind: K;
  /** The file as given (relative paths stay relative, so messages stay short). */
  file: string;
  /** Directory that relative paths inside the document start from. */
  dir: string;
  data: T;
  source: YamlSource;
  /** `file:line:col` of a value (or its key) in the document: `where(['plays', 0, 'tasks', 2])` or `where('plays[0].tasks[2]')`. */
  where(path: DocPath | string, opts?: { key?: boolean }): string;
  position(path: DocPath | string, opts?: { key?: boolean }): Position;
}

export type LoadedPlaybook = Loaded<'playbook', Playbook>;
export type LoadedInventory = Loaded<'inventory', Inventory>;
export type LoadedDocument = LoadedPlaybook | LoadedInventory;

const what = {
  playbook: 'a playbook (a mapping with plays)',
  inventory: 'an inventory (a mapping with hosts and groups)',
};

function read(file: string): Result<string, LoadError[]> {
  try {
    const r = readInput(file);
    return r.ok ? ok(r.text) : err([tooLargeProblem(file, r.bytes)]);
  } catch (e) {
    return err([readProblem(file, e)]);
  }
}

function loaded<K extends 'playbook' | 'inventory', T>(kind: K, file: string, parsed: Parsed, schema: TSchema): Loaded<K, T> {
  stripExtensions(schema, parsed.data);
  const path = (p: DocPath | string) => (typeof p === 'string' ? fromText(p) : p);
  return {
    kind,
    file,
    dir: dirname(resolvePath(file)),
    data: parsed.data as T,
    source: parsed.source,
    where: (p, opts) => parsed.source.where(path(p), opts),
    position: (p, opts) => parsed.source.position(path(p), opts),
  };
}

function semanticFor(kind: 'playbook' | 'inventory'): (data: unknown) => Finding[] {
  return kind === 'playbook' ? checkPlaybook : (d) => checkInventory(d);
}

/** Parses and checks text as `kind` (or as whatever it looks like), every problem at once. */
function parseAs(text: string, file: string, expect?: 'playbook' | 'inventory'): Result<LoadedDocument, LoadError[]> {
  const { parsed, errors } = parseStage(file, text);
  if (!parsed) return err(sortProblems(errors));
  const kind = expect ?? detectKind(parsed.data);
  if (parsed.data === null || !kind) {
    const empty = parsed.data === null;
    const wanted = expect ? what[expect] : 'a playbook or an inventory';
    return err([
      ...errors,
      fileError(
        file,
        empty ? 'yaml.empty' : 'file.unknown-kind',
        empty ? `the file is empty; expected ${wanted}` : 'this is neither a playbook nor an inventory',
        'a playbook has `plays:`; an inventory has `hosts:` or `groups:`',
      ),
    ]);
  }
  const problems = [...errors, ...checkStage(parsed, kind, semanticFor(kind))];
  // Files are checked even when the schema failed: a wrong path is one more thing to fix now.
  if (kind === 'playbook') problems.push(...checkReferencedFiles(parsed.source, parsed.data, dirname(resolvePath(file))), ...checkComposeFiles(parsed.source, parsed.data, dirname(resolvePath(file))));
  if (problems.length) return err(sortProblems(problems));
  return ok(kind === 'playbook' ? loaded<'playbook', Playbook>('playbook', file, parsed, Playbook) : loaded<'inventory', Inventory>('inventory', file, parsed, Inventory));
}

/** A playbook from YAML text: schema, references between its parts, and the files it names. */
export function parsePlaybook(text: string, file = 'playbook.yml'): Result<LoadedPlaybook, LoadError[]> {
  return parseAs(text, file, 'playbook') as Result<LoadedPlaybook, LoadError[]>;
}

/** An inventory from YAML text: schema, and groups naming hosts and groups that exist. */
export function parseInventory(text: string, file = 'inventory.yml'): Result<LoadedInventory, LoadError[]> {
  return parseAs(text, file, 'inventory') as Result<LoadedInventory, LoadError[]>;
}

export function loadPlaybook(file: string): Result<LoadedPlaybook, LoadError[]> {
  const text = read(file);
  return text.ok ? parsePlaybook(text.value, file) : text;
}

export function loadInventory(file: string): Result<LoadedInventory, LoadError[]> {
  const text = read(file);
  return text.ok ? parseInventory(text.value, file) : text;
}

const playbookKeys = ['plays', 'name', 'inventory', 'vars_files'];
const inventoryKeys = ['hosts', 'groups', 'ssh'];

/** A YAML file of variables (`vars_files:`), with positions for errors found while rendering. */
export function loadVarsFile(file: string): Result<{ file: string; data: Record<string, unknown>; source: YamlSource }, LoadError[]> {
  const text = read(file);
  if (!text.ok) return text;
  const r = analyze(file, text.value, 'vars', () => [], { emptyOk: true, what: 'a mapping of variables' });
  if (!r.ok) return r;
  return ok({ file, data: (r.value.data ?? {}) as Record<string, unknown>, source: r.value.source });
}

/** Which kind of document this is, by its keys: `plays` makes a playbook, `hosts`/`groups` an inventory. */
export function detectKind(data: unknown): 'playbook' | 'inventory' | undefined {
  if (data === null || typeof data !== 'object' || Array.isArray(data)) return undefined;
  const keys = Object.keys(data);
  if (keys.includes('plays')) return 'playbook';
  if (keys.some((k) => inventoryKeys.includes(k))) return 'inventory';
  if (keys.some((k) => playbookKeys.includes(k))) return 'playbook';
  return undefined;
}

/** A playbook or an inventory, whichever the file holds (for `berth validate`). */
export function parseDocument(text: string, file: string): Result<LoadedDocument, LoadError[]> {
  return parseAs(text, file);
}

export function loadDocument(file: string): Result<LoadedDocument, LoadError[]> {
  const text = read(file);
  return text.ok ? parseDocument(text.value, file) : text;
}

/**
 * The inventory file a playbook names (`inventory: path` or `{provider: static, file}`), resolved
 * against the playbook's directory. Works on raw data too, so `berth validate` can check the
 * inventory of a playbook that has mistakes of its own.
 */
export function referencedInventoryFile(playbookFile: string, data: unknown): { file: string; path: DocPath } | undefined {
  const inv = (data as { inventory?: unknown } | null)?.inventory;
  const ref = inv !== null && typeof inv === 'object' ? (inv as Record<string, unknown>) : undefined;
  const rel = typeof inv === 'string' ? inv : ref?.provider === 'static' && typeof ref.file === 'string' ? ref.file : undefined;
  if (rel === undefined || rel.includes('{{')) return undefined;
  const file = isAbsolute(rel) ? rel : join(dirname(playbookFile), rel);
  return { file, path: typeof inv === 'string' ? ['inventory'] : ['inventory', 'file'] };
}

/** The raw data of a YAML file, or undefined when it does not even parse (for best-effort peeks). */
export function peekData(file: string): unknown {
  const text = read(file);
  return text.ok ? parseStage(file, text.value).parsed?.data : undefined;
}

/** Plays whose `hosts:` names something the inventory lacks, located in the playbook. */
export function checkPlaybookAgainstInventory(pb: LoadedPlaybook, inv: LoadedInventory): LoadError[] {
  return checkHostPatterns(pb.data, inv.data, inv.file).map((f) => locate(pb.source, f));
}
