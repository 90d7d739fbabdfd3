// Variable substitution in a Compose file, as the Compose specification defines it and as
// docker/compose-go (compose-go/template) does it: `$VAR`, `${VAR}`, `${VAR:-default}`,
// `${VAR-default}`, `${VAR:?error}`, `${VAR?error}`, `${VAR:+alt}`, `${VAR+alt}`, and `$$` for a
// literal `$`. Defaults, alternatives and error texts are substituted in turn, and only when
// they are used (an unused default names no unset variable). `{{ }}` is plain text here: a
// Compose file is not a berth template.

export type Lookup = (name: string) => string | undefined;

export type SubstituteError =
  /** `${`, `${}`, `${ x}`, `${x!}`: not a substitution Compose understands. */
  | { kind: 'invalid'; template: string }
  /** `${VAR:?reason}` or `${VAR?reason}` with VAR unset (or empty, for `:?`). */
  | { kind: 'required'; variable: string; reason: string };

export type Substituted = { ok: true; value: string; unset: string[] } | { ok: false; error: SubstituteError };

class Failure {
  constructor(readonly error: SubstituteError) {}
}

const NAME_START = /[_a-zA-Z]/;
const NAME_CHAR = /[_a-zA-Z0-9]/;
const OPS = [':-', ':+', ':?', '-', '+', '?'] as const;
type Op = (typeof OPS)[number];

/** The template with its variables replaced, the names of the unset ones it used (each once). */
export function substitute(template: string, lookup: Lookup): Substituted {
  const unset: string[] = [];
  try {
    const value = run(template, lookup, unset);
    return { ok: true, value, unset: [...new Set(unset)] };
  } catch (e) {
    if (e instanceof Failure) return { ok: false, error: e.error };
    throw e;
  }
}

/** The message Compose gives for a failed substitution, in berth's words. */
export function describeError(e: SubstituteError): string {
  if (e.kind === 'invalid') return `invalid interpolation ${JSON.stringify(e.template)}`;
  return `required variable ${e.variable} is missing a value${e.reason ? `: ${e.reason}` : ''}`;
}

function run(t: string, lookup: Lookup, unset: string[]): string {
  let out = '';
  let i = 0;
  while (i < t.length) {
    const c = t[i];
    if (c !== '$') {
      out += c;
      i++;
      continue;
    }
    const next = t[i + 1];
    if (next === '$') {
      out += '$';
      i += 2;
    } else if (next !== undefined && NAME_START.test(next)) {
      let j = i + 1;
      while (j < t.length && NAME_CHAR.test(t[j])) j++;
      out += plain(t.slice(i + 1, j), lookup, unset);
      i = j;
    } else if (next === '{') {
      const b = braced(t, i, lookup, unset);
      out += b.value;
      i = b.end;
    } else {
      // `$` before anything else (`a $ b`, `^x$`, `$}`, `$1`) is itself.
      out += '$';
      i++;
    }
  }
  return out;
}

function plain(name: string, lookup: Lookup, unset: string[]): string {
  const v = lookup(name);
  if (v === undefined) unset.push(name);
  return v ?? '';
}

/** `${...}` starting at `start`: its value and the index after its closing brace. */
function braced(t: string, start: number, lookup: Lookup, unset: string[]): { value: string; end: number } {
  const invalid = () => new Failure({ kind: 'invalid', template: t });
  let j = start + 2;
  if (j >= t.length || !NAME_START.test(t[j])) throw invalid();
  while (j < t.length && NAME_CHAR.test(t[j])) j++;
  const name = t.slice(start + 2, j);
  if (t[j] === '}') return { value: plain(name, lookup, unset), end: j + 1 };
  const op = OPS.find((o) => t.startsWith(o, j));
  if (!op) throw invalid();
  // Compose's pattern takes everything up to the last `}` of the line, then cuts it at the brace
  // that closes this one: `${A:-{"x":1}} ${B}` is one default and a second variable.
  const lineEnd = t.indexOf('\n', j) < 0 ? t.length : t.indexOf('\n', j);
  const last = t.lastIndexOf('}', lineEnd - 1);
  if (last < j + op.length) throw invalid();
  const close = closingBrace(t.slice(start, last + 1));
  const end = close > -1 ? start + close : last;
  const arg = t.slice(j + op.length, end);
  return { value: apply(name, op, arg, lookup, unset), end: end + 1 };
}

function apply(name: string, op: Op, arg: string, lookup: Lookup, unset: string[]): string {
  const v = lookup(name);
  const set = v !== undefined;
  const full = set && v !== '';
  switch (op) {
    case ':-':
      return full ? v : run(arg, lookup, unset);
    case '-':
      return set ? v : run(arg, lookup, unset);
    case ':+':
      return full ? run(arg, lookup, unset) : (v ?? '');
    case '+':
      return set ? run(arg, lookup, unset) : '';
    case ':?':
    case '?':
      if (op === ':?' ? full : set) return v!;
      throw new Failure({ kind: 'required', variable: name, reason: run(arg, lookup, []) });
  }
}

/** compose-go's getFirstBraceClosingIndex: the `}` that closes the first `{`, or -1. */
function closingBrace(s: string): number {
  let open = 0;
  for (let i = 0; i < s.length; i++) {
    if (s[i] === '}') {
      open--;
      if (open === 0) return i;
    }
    if (s[i] === '{') {
      open++;
      i++;
    }
  }
  return -1;
}
