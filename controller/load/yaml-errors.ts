// YAML syntax errors, said for a person: what is wrong on that line and how YAML wants it.
// The `yaml` package finds them; its messages are terse and point past an unclosed quote.
import { isMap, isScalar, visit, type Scalar } from 'yaml';
import { ExitCode } from '../errors.js';
import { tooDeepHint } from './nesting.js';
import type { LoadError } from './problems.js';
import type { YamlProblem, YamlSource } from './source.js';

interface Said {
  message: string;
  hint?: string;
  offset: number;
}

export function syntaxErrors(source: YamlSource, problems: YamlProblem[]): LoadError[] {
  return problems.map((p) => {
    const said = explain(source, p);
    const { line, col } = source.at(said.offset);
    return {
      code: p.code === 'DUPLICATE_KEY' ? 'yaml.duplicate-key' : p.code === 'TOO_DEEP' ? 'yaml.too-deep' : 'yaml.syntax',
      message: said.message,
      where: `${source.file}:${line}:${col}`,
      hint: said.hint,
      exit: ExitCode.badInput,
      file: source.file,
      line,
      col,
    };
  });
}

function explain(source: YamlSource, p: YamlProblem): Said {
  const said = explainCode(source, p);
  if (p.code === 'TOO_DEEP') return said;
  return unquotedTemplate(source, said.offset) ? { ...said, hint: templateHint } : said;
}

const templateHint = 'quote values that hold {{ templates }}: YAML reads an unquoted "{" as the start of a mapping';

/** Ansible's classic: `key: {{ var }}` or `[a={{ var }}]` without quotes. */
function unquotedTemplate(source: YamlSource, offset: number): boolean {
  const { line } = source.at(offset);
  const lines = source.text.split('\n');
  return [lines[line - 2], lines[line - 1]].some((l) => l !== undefined && /(^|[\s:,[=-])\{\{/.test(l.replace(/(["'])(?:(?!\1).)*\1/g, '')));
}

function explainCode(source: YamlSource, p: YamlProblem): Said {
  const text = source.text;
  // Some positions land on the indentation before the culprit; the culprit is what to show.
  let at = p.offset;
  while (at < text.length && text[at] === ' ') at++;
  switch (p.code) {
    case 'TAB_AS_INDENT':
      return { offset: p.offset, message: 'a tab is used for indentation', hint: 'YAML indents with spaces only: replace the tab with spaces' };
    case 'DUPLICATE_KEY':
      return duplicateKey(source, p.offset);
    case 'MISSING_CHAR':
      if (/quote/i.test(p.message)) return unclosedQuote(source, p);
      if (/Sequence item without - indicator/.test(p.message)) {
        return { offset: at, message: 'this line is indented like a list item but has no "-"', hint: 'line it up with the keys of the item above, or start a new item with "- "' };
      }
      return { offset: at, message: lower(p.message), hint: 'a flow collection ({...} or [...]) is probably not closed' };
    case 'BAD_INDENT':
      return { offset: at, message: `bad indentation: ${lower(p.message)}`, hint: 'keys of one mapping must start at the same column; indent with spaces only' };
    case 'BLOCK_AS_IMPLICIT_KEY':
    case 'MULTILINE_IMPLICIT_KEY': {
      const deeper = overIndented(source, at);
      if (deeper) return deeper;
      if (p.code === 'MULTILINE_IMPLICIT_KEY') {
        return { offset: at, message: 'a key runs over more than one line', hint: 'look for a missing ":" or an unclosed quote just above, or wrong indentation' };
      }
      return { offset: at, message: 'a mapping cannot start on the same line as its key (like "a: b: c")', hint: 'put the nested keys on their own indented lines, or quote the value' };
    }
    case 'MULTIPLE_DOCS':
      return { offset: at, message: 'the file holds more than one YAML document', hint: 'berth reads one document per file: remove the extra "---"' };
    case 'BAD_DQ_ESCAPE':
      return { offset: at, message: 'invalid escape sequence in a double-quoted string', hint: 'use single quotes, or write \\\\ for a backslash' };
    case 'UNKNOWN_ALIAS':
      return { offset: at, message: `alias *${p.message} refers to no anchor`, hint: `define &${p.message} on a value above this line, or fix the name` };
    case 'COMPLEX_KEY':
      return { offset: at, message: 'a mapping or list is used as a key', hint: 'keys are plain names; quote the value if it holds { or [' };
    case 'TOO_DEEP':
      return { offset: p.offset, message: p.message, hint: tooDeepHint };
    case 'UNEXPECTED_TOKEN':
      return { offset: at, message: `unexpected text: ${lower(p.message)}`, hint: 'check the indentation and the ":" and "-" on this line' };
    default:
      return { offset: at, message: lower(p.message) };
  }
}

/**
 * `hosts: all` followed by a key indented deeper: YAML reads the second line as more of the value
 * `all` and complains about the first. The line to fix is the second one.
 */
function overIndented(source: YamlSource, offset: number): Said | undefined {
  const { line } = source.at(offset);
  const lines = source.text.split('\n');
  const cur = lines[line - 1];
  const next = lines[line];
  if (cur === undefined || next === undefined || next.trim() === '') return undefined;
  const keyCol = /^[\s-]*/.exec(cur)?.[0].length ?? 0;
  const nextCol = /^\s*/.exec(next)?.[0].length ?? 0;
  if (nextCol <= keyCol || !/^\s*[^\s#][^:]*:(\s|$)/.test(next)) return undefined;
  const key = /^[\s-]*([^:\s]+)/.exec(cur)?.[1] ?? 'the key';
  const start = lines.slice(0, line).reduce((n, l) => n + l.length + 1, 0);
  return {
    offset: start + nextCol,
    message: `this line is indented deeper than ${JSON.stringify(key)} above it, so YAML reads it as part of that value`,
    hint: 'keys of one mapping must start at the same column: line it up with the key above',
  };
}

function lower(msg: string): string {
  return msg.charAt(0).toLowerCase() + msg.slice(1);
}

function duplicateKey(source: YamlSource, offset: number): Said {
  let said: Said = { offset, message: 'a key appears twice in the same mapping', hint: 'remove or rename one of them' };
  visit(source.doc, {
    Map(_, map) {
      if (!isMap(map)) return;
      const seen = new Map<string, number>();
      for (const pair of map.items) {
        if (!isScalar(pair.key) || !pair.key.range) continue;
        const name = String(pair.key.value);
        const start = pair.key.range[0];
        if (start === offset) {
          const first = seen.get(name);
          const line = first === undefined ? undefined : source.at(first).line;
          said = {
            offset,
            message: `key ${JSON.stringify(name)} appears twice in the same mapping`,
            hint: line === undefined ? 'remove or rename one of them' : `it is first set on line ${line}; remove or rename one of them (YAML would keep only one)`,
          };
          return visit.BREAK;
        }
        if (!seen.has(name)) seen.set(name, start);
      }
      return undefined;
    },
  });
  return said;
}

function unclosedQuote(source: YamlSource, p: YamlProblem): Said {
  const quoteChar = /'/.test(p.message) ? "'" : '"';
  let start: number | undefined;
  visit(source.doc, {
    Scalar(_, node: Scalar) {
      const r = node.range;
      if (!r || (node.type !== 'QUOTE_DOUBLE' && node.type !== 'QUOTE_SINGLE')) return;
      const raw = source.text.slice(r[0], r[1]);
      const closed = raw.length > 1 && raw.endsWith(raw[0]);
      if (!closed && r[0] <= p.offset && (start === undefined || r[0] > start)) start = r[0];
    },
  });
  const kind = quoteChar === '"' ? 'double' : 'single';
  return {
    offset: start ?? p.offset,
    message: `a ${kind}-quoted string is never closed`,
    hint: `add the closing ${quoteChar} at the end of the value`,
  };
}
