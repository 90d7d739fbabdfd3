// Conditions in playbooks (`when`, `changed_when`, `failed_when`): jexl expressions with the
// words Ansible operators already type: `result.rc == 0 and not (facts.os.family == "alpine")`,
// `"web" in group_names`, `result.stdout|contains("ok")`, `app_version|defined`.
// Shared by the controller (syntax is checked before any host is contacted) and the agent
// (conditions are evaluated on the host, where registered results live).
import jexlDefault from 'jexl';

const { Jexl } = jexlDefault;
const jexl = new Jexl();
jexl.addBinaryOp('and', 10, (a, b) => Boolean(a) && Boolean(b));
jexl.addBinaryOp('or', 10, (a, b) => Boolean(a) || Boolean(b));
jexl.addUnaryOp('not', (a) => !a);
jexl.addTransform('defined', (v) => v !== undefined);
jexl.addTransform('undefined', (v) => v === undefined);
jexl.addTransform('contains', (v, x) => (typeof v === 'string' || Array.isArray(v) ? v.includes(x) : false));
jexl.addTransform('length', (v) => (v == null ? 0 : typeof v === 'object' && !Array.isArray(v) ? Object.keys(v).length : (v as { length: number }).length));
jexl.addTransform('int', (v) => Number.parseInt(String(v), 10));
jexl.addTransform('bool', (v) => (typeof v === 'string' ? /^(1|true|yes|on)$/i.test(v) : Boolean(v)));
jexl.addTransform('lower', (v) => String(v).toLowerCase());
jexl.addTransform('upper', (v) => String(v).toUpperCase());
jexl.addTransform('trim', (v) => String(v).trim());

const compiled = new Map<string, ReturnType<typeof jexl.compile>>();

/** What a playbook may write for a condition: an expression, true/false, or a list of expressions that must all hold (as in Ansible). */
export type Condition = string | boolean | string[];

export type ExprResult = { ok: true; value: unknown } | { ok: false; message: string };

function compile(expr: string): { ok: true; fn: ReturnType<typeof jexl.compile> } | { ok: false; message: string } {
  let fn = compiled.get(expr);
  if (!fn) {
    try {
      fn = jexl.compile(expr);
    } catch (e) {
      return { ok: false, message: (e as Error).message };
    }
    compiled.set(expr, fn);
  }
  return { ok: true, fn };
}

/** Syntax only: used before connecting, so a typo is bad input, not a failure on every host. */
export function checkExpression(expr: string): string | undefined {
  const c = compile(expr);
  const problem = c.ok ? unclosed(expr) : c.message;
  return problem === undefined ? undefined : oneLine(problem);
}

/** A message that quotes the expression stays one line of sensible length (it is printed as one). */
function oneLine(message: string): string {
  const line = message.replace(/[\u0000-\u001f\u007f-\u009f]/g, (ch) => JSON.stringify(ch).slice(1, -1));
  return line.length > 300 ? `${line.slice(0, 297)}...` : line;
}

/** jexl's parser accepts `(a == 1` as if it were closed; a person meant something else. */
function unclosed(expr: string): string | undefined {
  const open: string[] = [];
  const pairs: Record<string, string> = { ')': '(', ']': '[', '}': '{' };
  for (let i = 0; i < expr.length; i++) {
    const ch = expr[i];
    if (ch === '"' || ch === "'") {
      for (i++; i < expr.length && expr[i] !== ch; i++) if (expr[i] === '\\') i++;
    } else if (ch === '(' || ch === '[' || ch === '{') open.push(ch);
    else if (ch in pairs && open.pop() !== pairs[ch]) return `"${ch}" closes nothing in expression: ${expr}`;
  }
  return open.length ? `"${open[open.length - 1]}" is never closed in expression: ${expr}` : undefined;
}

/** Each expression of a condition, with its index in the list (undefined for the single form). */
export function conditionParts(cond: Condition): { expr: string | boolean; index?: number }[] {
  return Array.isArray(cond) ? cond.map((expr, index) => ({ expr, index })) : [{ expr: cond }];
}

/** A condition as one line for messages: a list reads as its expressions joined by `and`. */
export const conditionText = (cond: Condition): string => (Array.isArray(cond) ? cond.map((c) => `(${c})`).join(' and ') : String(cond));

/**
 * A condition's truth: a list holds when every expression holds, evaluated in order and stopping
 * at the first that does not (so a later one may rely on an earlier, as `x|defined`, `x > 1`).
 */
export function evaluateCondition(cond: Condition, context: object): ExprResult {
  for (const { expr } of conditionParts(cond)) {
    const r = evaluate(expr, context);
    if (!r.ok || !r.value) return r;
  }
  return { ok: true, value: true };
}

export function evaluate(expr: string | boolean, context: object): ExprResult {
  if (typeof expr === 'boolean') return { ok: true, value: expr };
  const c = compile(expr);
  if (!c.ok) return c;
  try {
    return { ok: true, value: c.fn.evalSync(context) };
  } catch (e) {
    return { ok: false, message: (e as Error).message };
  }
}
