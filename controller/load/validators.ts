// Compiled validators. Compiling the playbook schema with ajv costs a few hundred milliseconds,
// which every `berth` run would pay before doing anything. So the root validators come from
// ajv's standalone code, generated once per schema version into berth's cache directory and
// loaded with a plain `require` afterwards (tens of milliseconds). When the cache cannot be used
// (read-only home, BERTH_SCHEMA_CACHE=0) they are compiled in process, as before.
//
// Sub-schemas (a union's branch, when the error mapper re-checks a value against it) are compiled
// on demand: that only happens on the way to reporting an error.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { TSchema } from '@sinclair/typebox';
import type { Ajv, ErrorObject, Options, ValidateFunction } from 'ajv';
import { annotationKeywords, sharedSchemas } from '../../schema/common.js';
import { Inventory } from '../../schema/inventory.js';
import { Playbook } from '../../schema/playbook.js';
import { cacheDir } from '../paths.js';

const require = createRequire(import.meta.url);

export type RootName = 'playbook' | 'inventory' | 'vars';

const roots = (): Record<RootName, object> => ({ playbook: Playbook, inventory: Inventory, vars: { $ref: 'berth-vars' } });

// allErrors: a person fixes every mistake of a file in one go. verbose: the error mapper needs
// each failing schema and value to phrase "expected" and pick the right branch of a union.
// inlineRefs off: each shared schema becomes one function instead of a copy per use. No code
// optimizer: documents are small, and it doubles compile time.
const options: Options = {
  allErrors: true,
  verbose: true,
  inlineRefs: false,
  strict: true,
  strictTypes: false,
  strictRequired: false,
  keywords: [...annotationKeywords],
  code: { optimize: false },
};

function newAjv(extra: Options = {}): Ajv {
  // Loaded on first use: a run served from the cache never loads ajv's compiler at all.
  const { Ajv: AjvClass } = require('ajv') as typeof import('ajv');
  const ajv = new AjvClass({ ...options, ...extra, code: { ...options.code, ...extra.code } });
  for (const s of sharedSchemas()) ajv.addSchema(s);
  return ajv;
}

let runtime: Ajv | undefined;
const compiled = new WeakMap<object, ValidateFunction>();

/** A validator for any schema or sub-schema, compiled in process (error paths, tests). */
export function validatorFor(schema: TSchema | Record<string, unknown>): ValidateFunction {
  let fn = compiled.get(schema);
  if (!fn) {
    runtime ??= newAjv();
    // A shared schema is already registered under its id; compiling it again would clash.
    fn = (typeof schema.$id === 'string' ? runtime.getSchema(schema.$id) : undefined) ?? runtime.compile(schema);
    compiled.set(schema, fn);
  }
  return fn;
}

let rootValidators: Record<RootName, ValidateFunction> | undefined;

/** The validator of a whole document: playbook, inventory, or a vars file. */
export function rootValidator(name: RootName): ValidateFunction {
  rootValidators ??= fromCache() ?? compileRoots();
  return rootValidators[name];
}

function compileRoots(): Record<RootName, ValidateFunction> {
  const r = roots();
  return { playbook: validatorFor(r.playbook as TSchema), inventory: validatorFor(r.inventory as TSchema), vars: validatorFor(r.vars as TSchema) };
}

/** Raw ajv errors of a document against a root schema; empty when it is valid. */
export function documentErrors(name: RootName, data: unknown): ErrorObject[] {
  const fn = rootValidator(name);
  return fn(data) ? [] : [...(fn.errors ?? [])];
}

/** Raw ajv errors of a value against any schema; empty when it is valid. */
export function schemaErrors(schema: TSchema | Record<string, unknown>, data: unknown): ErrorObject[] {
  const fn = validatorFor(schema);
  return fn(data) ? [] : [...(fn.errors ?? [])];
}

function fromCache(): Record<RootName, ValidateFunction> | undefined {
  if (process.env.BERTH_SCHEMA_CACHE === '0') return undefined;
  try {
    const ajvDir = dirname(require.resolve('ajv/package.json'));
    const { version } = require('ajv/package.json') as { version: string };
    // Any change to a schema, to ajv or to the options makes a new file; old ones are never read again.
    const key = createHash('sha256')
      .update(JSON.stringify([version, ajvDir, options, sharedSchemas(), roots()]))
      .digest('hex')
      .slice(0, 20);
    const file = join(cacheDir(), 'schemas', `validators-${key}.cjs`);
    try {
      return require(file) as Record<RootName, ValidateFunction>;
    } catch {
      // Not there yet (or unreadable): generate it below.
    }
    const code = standalone();
    makeDirs(dirname(file));
    // Written aside and renamed: two berth processes starting at once never read half a file.
    const tmp = `${file}.${process.pid}.tmp`;
    writeFileSync(tmp, code);
    renameSync(tmp, file);
    return require(file) as Record<RootName, ValidateFunction>;
  } catch {
    return undefined;
  }
}

// mkdirSync's `recursive` spins forever on some pseudo file systems (/proc): go one level at a time.
function makeDirs(dir: string): void {
  const missing: string[] = [];
  for (let d = dir; !existsSync(d); d = dirname(d)) {
    if (dirname(d) === d) break;
    missing.unshift(d);
  }
  for (const d of missing) mkdirSync(d);
}

/** ajv's standalone module of the root validators, its runtime helpers required by absolute path. */
export function standalone(): string {
  const ajv = newAjv({ code: { source: true } });
  const ids: Record<string, string> = {};
  for (const [name, schema] of Object.entries(roots())) {
    const id = `berth-root-${name}`;
    ajv.addSchema({ ...schema, $id: id });
    ids[name] = id;
  }
  const standaloneCode = (require('ajv/dist/standalone') as { default: (ajv: Ajv, refs: Record<string, string>) => string }).default;
  // The cache directory has no node_modules to resolve `ajv/dist/runtime/...` from.
  return standaloneCode(ajv, ids).replace(/require\("(ajv\/dist\/runtime\/[^"]+)"\)/g, (_, spec: string) => `require(${JSON.stringify(require.resolve(spec))})`);
}
