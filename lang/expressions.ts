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
  return c.ok ? undefined : c.message;
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
