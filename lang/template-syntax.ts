// Handlebars syntax, checked without rendering anything: `berth validate` reports a template that
// cannot be parsed at its own line and column (a template file) or at the value (a string in the
// playbook), before any host's vars exist. Handlebars names only the line where it gave up (the
// end of the file, for a `{{` never closed), so the usual mistakes are looked for first: an
// unclosed `{{`, and a block `{{#if}}` with no `{{/if}}`.
import { hbs } from './templates.js';

export interface TemplateProblem {
  line: number;
  /** 1-based; absent when handlebars' message gives only the line. */
  col?: number;
  message: string;
}

export function templateSyntax(text: string): TemplateProblem | undefined {
  try {
    hbs.parse(text);
    return undefined;
  } catch (e) {
    return unclosedMustache(text) ?? unclosedBlock(text) ?? parserSays(text, (e as Error).message);
  }
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
