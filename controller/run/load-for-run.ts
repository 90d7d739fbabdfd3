// Adapter between the loader (controller/load) and a run. TEMPORARY: parses without the
// schema until the validator lands; replaced by the validating loader.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parse } from 'yaml';
import { err, ok, type BerthError, type Result } from '../errors.js';
import type { InventoryDoc } from '../inventory/resolve.js';
import type { PlaybookShape } from './playbook-shape.js';

export interface LoadedForRun {
  path: string;
  doc: PlaybookShape & { inventory?: unknown };
  where: (path: Array<string | number>) => string;
}

export function loadForRun(file: string): Result<LoadedForRun, BerthError[]> {
  const path = resolve(file);
  try {
    const doc = parse(readFileSync(path, 'utf8')) as LoadedForRun['doc'];
    return ok({ path, doc, where: (p) => `${file}:${p.join('.')}` });
  } catch (e) {
    return err([{ code: 'load', message: (e as Error).message, where: file, exit: 2 }]);
  }
}

export function loadInventoryForRun(file: string): Result<InventoryDoc, BerthError[]> {
  try {
    return ok(parse(readFileSync(file, 'utf8')) as InventoryDoc);
  } catch (e) {
    return err([{ code: 'load', message: (e as Error).message, where: file, exit: 2 }]);
  }
}
