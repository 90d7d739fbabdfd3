// How deep YAML may nest. Composing a document, turning it into data, the schema and every later
// walk over it recurse once per level: a file nested a few thousand levels deep (by mistake or on
// purpose) ran them out of stack ("internal error: Maximum call stack size exceeded") or memory.
// No playbook, inventory, vars or Compose file comes near the limit; a mistake past it gets one
// located message instead. Both walks here use an explicit stack, never recursion.
import type { CST } from 'yaml';
import type { DocPath } from './path.js';

/** Lists and mappings inside each other, at most. */
export const MAX_NESTING = 100;

/** The offset of the first list or mapping nested deeper than the limit, before composing. */
export function tooDeepOffset(tokens: CST.Token[], max = MAX_NESTING): number | undefined {
  const stack: Array<[CST.Token, number]> = tokens.map((t) => [t, 0]);
  let first: number | undefined;
  while (stack.length) {
    const [t, depth] = stack.pop()!;
    if (t.type === 'document') {
      if (t.value) stack.push([t.value, depth]);
    } else if (t.type === 'block-map' || t.type === 'block-seq' || t.type === 'flow-collection') {
      if (depth >= max) {
        first = first === undefined ? t.offset : Math.min(first, t.offset);
        continue;
      }
      for (const item of t.items as CST.CollectionItem[]) {
        if (item.key) stack.push([item.key, depth + 1]);
        if (item.value) stack.push([item.value, depth + 1]);
      }
    }
  }
  return first;
}

/** The path of a value nested deeper than the limit in data (aliases can nest what text does not). */
export function tooDeepPath(data: unknown, max = MAX_NESTING): DocPath | undefined {
  const stack: Array<[unknown, (string | number)[]]> = [[data, []]];
  // An alias shares its value: walk it again only where it sits deeper than before.
  const deepest = new Map<object, number>();
  while (stack.length) {
    const [v, path] = stack.pop()!;
    if (v === null || typeof v !== 'object' || (deepest.get(v) ?? -1) >= path.length) continue;
    if (path.length >= max) return path;
    deepest.set(v, path.length);
    const kids = Array.isArray(v) ? v.map((x, i) => [x, [...path, i]] as [unknown, (string | number)[]]) : Object.entries(v).map(([k, x]) => [x, [...path, k]] as [unknown, (string | number)[]]);
    stack.push(...kids.reverse());
  }
  return undefined;
}

export const tooDeepMessage = `the document nests lists and mappings more than ${MAX_NESTING} levels deep`;
export const tooDeepHint = `berth reads YAML nested at most ${MAX_NESTING} levels; flatten the data, or keep it in a file that copy or template reads`;
