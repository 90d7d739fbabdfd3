// A YAML file parsed with its source positions kept, so that anything found wrong later (the
// schema, a reference, a template that fails to render) can say file:line:column.
import { Composer, LineCounter, Parser, YAMLParseError, isAlias, isCollection, isMap, isScalar, isSeq, visit, type Document, type Node, type ParsedNode } from 'yaml';
import { tooDeepMessage, tooDeepOffset } from './nesting.js';
import type { DocPath } from './path.js';

export interface Position {
  line: number;
  col: number;
}

export class YamlSource {
  constructor(
    readonly file: string,
    readonly text: string,
    readonly doc: Document.Parsed,
    private readonly lines: LineCounter,
  ) {}

  /** Line and column (1-based) of an offset in the file. */
  at(offset: number): Position {
    return this.lines.linePos(offset);
  }

  /**
   * Where the value at `path` starts, or its key with `key: true` (an unknown key is the thing to
   * point at, not its value). A path that runs out (a missing key) gives the nearest ancestor.
   */
  position(path: DocPath, opts: { key?: boolean } = {}): Position {
    let node: Node | null = this.doc.contents;
    for (const [i, seg] of path.entries()) {
      const found = this.child(node, seg);
      if (!found) break;
      const last = i === path.length - 1;
      if (last && opts.key && found.key) return this.nodeStart(found.key);
      if (found.key && (found.value === null || isEmpty(found.value))) {
        // `key:` with nothing after it: the key is the only thing on the line to point at.
        return this.nodeStart(found.key);
      }
      if (found.value === null) break;
      if (last && isEmpty(found.value)) {
        // An empty list item (`-` alone): point at its dash.
        let at = (found.value as ParsedNode).range[0] - 1;
        while (at > 0 && this.text[at] === ' ') at--;
        return this.at(this.text[at] === '-' ? at : at + 1);
      }
      node = found.value;
    }
    return this.nodeStart(node);
  }

  /** `file:line:col` of a path, the form every berth error uses for `where`. */
  where(path: DocPath, opts: { key?: boolean } = {}): string {
    const p = this.position(path, opts);
    return `${this.file}:${p.line}:${p.col}`;
  }

  private nodeStart(node: Node | null): Position {
    const offset = node?.range?.[0];
    return offset === undefined ? { line: 1, col: 1 } : this.at(offset);
  }

  private child(node: Node | null, seg: string | number): { key: Node | null; value: Node | null } | undefined {
    const target = this.deref(node);
    if (isSeq(target)) {
      const item = target.items[Number(seg)];
      // An alias item stays the alias, so an error points at `*name` where it is used.
      return item === undefined ? undefined : { key: null, value: item as Node | null };
    }
    if (!isMap(target)) return undefined;
    for (const pair of target.items) {
      const k = isScalar(pair.key) ? pair.key.value : pair.key;
      if (typeof k !== 'symbol' && String(k) === String(seg)) return { key: pair.key as Node, value: pair.value as Node | null };
    }
    // `<<: *defaults` merges keys defined elsewhere: find them at their definition.
    for (const pair of target.items) {
      if (!isScalar(pair.key) || typeof pair.key.value !== 'symbol') continue;
      const sources = isSeq(pair.value) ? pair.value.items : [pair.value];
      for (const src of sources) {
        const hit = this.child(src as Node, seg);
        if (hit) return hit;
      }
    }
    return undefined;
  }

  private deref(node: Node | null): Node | null {
    return isAlias(node) ? (node.resolve(this.doc) ?? null) : node;
  }
}

function isEmpty(node: Node): boolean {
  return isScalar(node) && node.value === null && (node as ParsedNode).range[0] === (node as ParsedNode).range[1];
}

export interface ParsedYaml {
  source: YamlSource;
  /** Syntax errors: the text is not YAML, or repeats a key. */
  errors: YamlProblem[];
}

export interface YamlProblem {
  code: string;
  message: string;
  offset: number;
}

export function parseYaml(file: string, text: string): ParsedYaml {
  const lines = new LineCounter();
  // Parsed to tokens first (no recursion), so that nesting past the limit is refused before the
  // composer recurses into it. The rest is what yaml's parseDocument does.
  const tokens = [...new Parser(lines.addNewLine).parse(text)];
  const deep = tooDeepOffset(tokens);
  if (deep !== undefined) return { source: new YamlSource(file, text, new Composer().compose([], true, 0).next().value as Document.Parsed, lines), errors: [{ code: 'TOO_DEEP', message: tooDeepMessage, offset: deep }] };
  // YAML 1.2 (the default) reads `no`/`on` as strings, as Compose does; merge keys (`<<: *x`) are
  // YAML 1.1 but Compose users rely on them, so they are turned on explicitly.
  let doc: Document.Parsed | undefined;
  for (const d of new Composer({ merge: true, keepSourceTokens: false }).compose(tokens, true, text.length)) {
    if (!doc) doc = d;
    else {
      doc.errors.push(new YAMLParseError(d.range.slice(0, 2) as [number, number], 'MULTIPLE_DOCS', 'Source contains multiple documents; please use YAML.parseAllDocuments()'));
      break;
    }
  }
  if (!doc) throw new Error('bug: the YAML composer returned no document');
  const errors: YamlProblem[] = doc.errors.map((e) => ({ code: e.code, message: e.message, offset: e.pos[0] }));
  // `key: {{ var }}` parses as a mapping used as a key; JavaScript objects cannot hold one.
  visit(doc, {
    Alias(_, alias) {
      if (!alias.resolve(doc) && alias.range) errors.push({ code: 'UNKNOWN_ALIAS', message: alias.source, offset: alias.range[0] });
    },
    Pair(_, pair) {
      const key = pair.key as Node | null;
      if (isCollection(key) && key.range) errors.push({ code: 'COMPLEX_KEY', message: 'a mapping or list is used as a key', offset: key.range[0] });
    },
  });
  return { source: new YamlSource(file, text, doc, lines), errors };
}
