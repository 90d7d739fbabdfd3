// Handlebars syntax, checked without rendering anything: `berth validate` reports a template that
// cannot be parsed at its own line and column (a template file) or at the value (a string in the
// playbook), before any host's vars exist. Handlebars names only the line where it gave up (the
// end of the file, for a `{{` never closed), so the usual mistakes are looked for first: an
// unclosed `{{`, and a block `{{#if}}` with no `{{/if}}`. A template that parses is also checked
// for helper calls that could never work (badCall).
import { hbs } from './templates.js';

export interface TemplateProblem {
  line: number;
  /** 1-based; absent when handlebars' message gives only the line. */
  col?: number;
  message: string;
  /** What to write instead, when the problem is not a syntax error. */
  hint?: string;
}

export function templateSyntax(text: string): TemplateProblem | undefined {
  let ast: ReturnType<typeof hbs.parse>;
  try {
    ast = hbs.parse(text);
  } catch (e) {
    return unclosedMustache(text) ?? unclosedBlock(text) ?? parserSays(text, (e as Error).message);
  }
  return badCall(ast);
}

// Handlebars' own helpers that fail with a JavaScript TypeError and no position when misused,
// whatever the vars: blocks used inline, the wrong number of arguments. Said at their line.
const blocks: Record<string, number> = { if: 1, unless: 1, with: 1, each: 1 };
const inlineArgs: Record<string, number> = { lookup: 2 };
/** Handlebars calls these itself; a template that names them gets a TypeError. */
const internal = new Set(['helperMissing', 'blockHelperMissing']);

type Node = { type?: string; loc?: { start: { line: number; column: number } } } & Record<string, unknown>;
type Call = Node & { path: Node & { original?: unknown; parts?: unknown[]; data?: boolean; depth?: number }; params: unknown[]; hash?: { pairs: unknown[] } };

/**
 * A helper call that cannot work, found in the parsed template: arguments given to a name that
 * is no helper (a variable cannot take any: handlebars fails with "... .call is not a function"),
 * a block helper used inline or with the wrong number of arguments, partials and decorators
 * (berth registers none). Found without rendering: the same for every host.
 */
function badCall(ast: ReturnType<typeof hbs.parse>): TemplateProblem | undefined {
  let found: TemplateProblem | undefined;
  const at = (n: Node, message: string, hint?: string): TemplateProblem => ({ line: n.loc?.start.line ?? 1, col: (n.loc?.start.column ?? 0) + 1, message, ...(hint ? { hint } : {}) });
  const visit = (v: unknown): void => {
    if (found || v === null || typeof v !== 'object') return;
    if (Array.isArray(v)) return v.forEach(visit);
    const n = v as Node;
    if (n.type === 'PartialStatement' || n.type === 'PartialBlockStatement' || n.type === 'Decorator' || n.type === 'DecoratorBlock') {
      found = at(n, 'partials ({{> name}}) and decorators ({{* name}}) are not available in berth templates', 'write the text in place, or put it in a variable');
      return;
    }
    if (n.type === 'MustacheStatement' || n.type === 'BlockStatement' || n.type === 'SubExpression') found = checkCall(n as Call, at);
    for (const [k, x] of Object.entries(n)) if (k !== 'loc') visit(x);
  };
  visit(ast);
  return found;
}

function checkCall(n: Call, at: (n: Node, message: string, hint?: string) => TemplateProblem): TemplateProblem | undefined {
  if (n.path?.type !== 'PathExpression' || typeof n.path.original !== 'string') return undefined;
  const name = n.path.original;
  const args = n.params.length + (n.hash?.pairs.length ?? 0);
  const simple = !n.path.data && !n.path.depth && n.path.parts?.length === 1;
  const helper = simple && Object.prototype.hasOwnProperty.call(hbs.helpers, name) && !internal.has(name);
  const block = n.type === 'BlockStatement';
  if (!helper) {
    if (internal.has(name)) return at(n, `${name} is handlebars' own and cannot be called from a template`);
    if (args > 0 || n.type === 'SubExpression') return at(n, `${name} is not a helper: ${n.type === 'SubExpression' ? `(${name} ...)` : `{{${block ? '#' : ''}${name} ...}}`} calls a helper by that name, and a variable takes no arguments`, `a variable is written {{${name}}}; the helpers are ${Object.keys(hbs.helpers).filter((h) => !internal.has(h)).join(', ')}`);
    return undefined;
  }
  if (name in blocks) {
    if (!block) return at(n, `${name} is a block: write {{#${name} x}}...{{/${name}}}`);
    if (n.params.length !== blocks[name]) return at(n, `{{#${name}}} takes exactly ${blocks[name]} argument, got ${n.params.length}`);
  }
  if (name in inlineArgs && n.params.length !== inlineArgs[name]) return at(n, `${name} takes exactly ${inlineArgs[name]} arguments, got ${n.params.length}`);
  return undefined;
}

function position(text: string, offset: number): { line: number; col: number } {
  const before = text.slice(0, offset);
  const line = before.split('\n').length;
  return { line, col: offset - before.lastIndexOf('\n') };
}

/** A `{{` with no `}}` before the next `{{` or the end. */
function unclosedMustache(text: string): TemplateProblem | undefined {
  for (let at = text.indexOf('{{'); at >= 0; ) {
    if (text[at - 1] === '\\') {
      at = text.indexOf('{{', at + 2);
      continue;
    }
    let from = at;
    while (text[from] === '{') from++;
    const close = text.indexOf('}}', from);
    const next = text.indexOf('{{', from);
    if (close < 0 || (next >= 0 && next < close)) return { ...position(text, at), message: '"{{" is never closed: no "}}" before the end or the next "{{"' };
    at = next;
  }
  return undefined;
}

/** A block helper opened (`{{#each x}}`) and never closed (`{{/each}}`). */
function unclosedBlock(text: string): TemplateProblem | undefined {
  const open: Array<{ name: string; at: number }> = [];
  for (const m of text.matchAll(/\{\{~?\s*([#/^])\s*([\w.-]+)/g)) {
    if (m[1] === '/') {
      if (open.length && open[open.length - 1].name === m[2]) open.pop();
      else return { ...position(text, m.index!), message: `{{/${m[2]}}} closes no {{#${m[2]}}}` };
    } else if (m[1] === '#') open.push({ name: m[2], at: m.index! });
  }
  const last = open.pop();
  return last && { ...position(text, last.at), message: `{{#${last.name}}} is never closed: add {{/${last.name}}}` };
}

const tokenWords: Record<string, string> = { EOF: 'the end of the template', CLOSE: '"}}"', CLOSE_UNESCAPED: '"}}}"', OPEN: '"{{"', SEP: '"." or "/"', INVALID: 'a character handlebars does not take there' };

function parserSays(text: string, message: string): TemplateProblem {
  const line = Number(/Parse error on line (\d+)/.exec(message)?.[1] ?? 1);
  const got = /got '([^']+)'/.exec(message)?.[1];
  const first = text.split('\n')[line - 1]?.indexOf('{{') ?? -1;
  return { line, ...(first >= 0 ? { col: first + 1 } : {}), message: got ? `handlebars cannot parse this: unexpected ${tokenWords[got] ?? got}` : `handlebars cannot parse this: ${message.split('\n')[0]}` };
}
