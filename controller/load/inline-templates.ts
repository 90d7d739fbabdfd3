// Strings berth renders with handlebars (a task's parameters, name, loop, environment and
// become_user; everything under services) must parse: a broken one is reported at its own line
// by `berth validate`, not once per host when the plan is rendered.
import { templateSyntax } from '../../lang/template-syntax.js';
import { moduleNames } from '../../modules/catalog.js';
import type { DocPath } from './path.js';
import type { Finding } from './problems.js';
import { asList, asRecord, entries } from './shape.js';

const rendered = ['name', 'loop', 'environment', 'become_user', ...moduleNames];

export function checkInlineTemplates(play: Record<string, unknown>, at: DocPath): Finding[] {
  const found: Finding[] = [];
  const visit = (v: unknown, path: DocPath): void => {
    if (typeof v === 'string') {
      const problem = v.includes('{{') ? templateSyntax(v) : undefined;
      if (problem) found.push({ code: 'template.syntax', message: `template syntax error: ${problem.message}`, path, hint: problem.hint ?? 'close it with "}}"; a literal "{{" is written \\{{' });
    } else if (Array.isArray(v)) v.forEach((x, i) => visit(x, [...path, i]));
    else if (v !== null && typeof v === 'object') for (const [k, x] of Object.entries(v)) visit(x, [...path, k]);
  };
  for (const list of ['tasks', 'handlers'] as const) {
    asList(play[list]).forEach((t, j) => {
      const step = asRecord(t);
      for (const key of rendered) if (key in step) visit(step[key], [...at, list, j, key]);
    });
  }
  for (const [name, svc] of entries(play.services)) visit(svc, [...at, 'services', name]);
  return found;
}
