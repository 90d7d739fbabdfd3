// Renders a template file on the controller for one host. Strict: a variable the host lacks is
// an error pointing at the template's own file:line:column (not at the task), exit code 2.
import { ExitCode, err, ok, type BerthError, type Result } from '../errors.js';
// The same engine, helpers and context as inline task parameters: a template file and a task
// line behave alike.
import { hbs, templateContext, type RenderScope } from '../run/render.js';

/** Compiled once per distinct template text, however many hosts render it. */
const compiled = new Map<string, HandlebarsTemplateDelegate>();

export function renderTemplate(text: string, file: string, scope: RenderScope, task: string): Result<string, BerthError> {
  try {
    let t = compiled.get(text);
    if (!t) compiled.set(text, (t = hbs.compile(text, { strict: true, noEscape: true })));
    return ok(t(templateContext(scope)));
  } catch (e) {
    const error = e as Error & { lineNumber?: number; column?: number };
    return err(templateError(error.lineNumber === undefined ? { ...error, message: error.message, ...failingStatement(text, scope) } : error, file, scope.host, task));
  }
}

/**
 * Where a template failed when handlebars does not say (a TypeError inside its runtime, say a
 * path into a string): each top-level statement is rendered alone until one fails, and that one's
 * line and column are the place (a block's opening line, when it failed inside the block).
 */
function failingStatement(text: string, scope: RenderScope): { lineNumber?: number; column?: number } {
  try {
    const ast = hbs.parse(text);
    const context = templateContext(scope);
    for (const statement of ast.body) {
      try {
        hbs.compile({ ...ast, body: [statement] }, { strict: true, noEscape: true })(context);
      } catch {
        return statement.loc ? { lineNumber: statement.loc.start.line, column: statement.loc.start.column } : {};
      }
    }
  } catch {
    // Not parsed: the parse error has its line already.
  }
  return {};
}

function templateError(e: Error & { lineNumber?: number; column?: number }, file: string, host: string, task: string): BerthError {
  const first = e.message.split('\n')[0].replace(/ - \d+:\d+$/, '');
  // Strict lookups and helper errors carry a location; parse errors only name the line.
  const line = e.lineNumber ?? Number(/Parse error on line (\d+)/.exec(e.message)?.[1] ?? NaN);
  const where = Number.isNaN(line) ? file : e.column !== undefined ? `${file}:${line}:${e.column + 1}` : `${file}:${line}`;
  const missing = /^"([^"]+)" not defined/.exec(first);
  if (missing) {
    return {
      code: 'template.undefined',
      message: `variable "${missing[1]}" is not defined for host ${host} (template of the task at ${task})`,
      where,
      hint: 'define it in the playbook vars, the inventory, or with -e KEY=VALUE; or give a fallback: {{default name "value"}}',
      exit: ExitCode.badInput,
    };
  }
  const parse = /^Parse error/.test(first);
  return {
    code: parse ? 'template.syntax' : 'template.error',
    message: parse ? `template syntax error: ${e.message.split('\n').slice(1).join(' ').trim() || first}` : `template error for host ${host}: ${first}`,
    where,
    hint: `in the template of the task at ${task}`,
    exit: ExitCode.badInput,
  };
}
