// `when`, `changed_when` and `failed_when` are expressions (lang/expressions.ts). Their syntax is
// checked when the playbook is loaded, so a typo is bad input at its line (exit 2) rather than a
// task that fails on every host, or one that silently never runs.
import { checkExpression, conditionParts, type Condition } from '../../lang/expressions.js';
import type { DocPath } from './path.js';
import type { Finding } from './problems.js';

export const conditionKeys = ['when', 'changed_when', 'failed_when'] as const;

/** A step's conditions whose expressions do not parse, each at its own line (list items too). */
export function checkConditions(step: Record<string, unknown>, at: DocPath): Finding[] {
  const found: Finding[] = [];
  for (const key of conditionKeys) {
    const cond = step[key];
    // Any other shape is the schema's to report.
    if (typeof cond !== 'string' && !Array.isArray(cond)) continue;
    for (const { expr, index } of conditionParts(cond as Condition)) {
      if (typeof expr !== 'string') continue;
      const problem = checkExpression(expr);
      if (!problem) continue;
      found.push({
        code: 'task.expression',
        message: `${key}: ${problem}`,
        path: index === undefined ? [...at, key] : [...at, key, index],
        hint: 'conditions are expressions such as `result.rc == 0 and "web" in group_names`; a list means all of them must hold',
      });
    }
  }
  return found;
}
