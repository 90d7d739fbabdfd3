// Env files as Compose reads them (compose-go/dotenv): the `.env` beside a Compose file and the
// files a service names in `env_file:`. `KEY=value` (or `KEY: value`), `export KEY=value`,
// comments, a `KEY` alone (taken from the variables when they have it); unquoted values end at
// ` #`; single quotes are literal; double quotes take escapes (\n, \t, \", \\, \$) and span
// lines. Unquoted and double-quoted values are interpolated like the Compose file itself, from
// the variables first and then from the file's own earlier lines.
import { describeError, substitute, type Lookup } from './interpolate.js';

export interface EnvFileProblem {
  line: number;
  message: string;
}

/** `unset`: variables the values used that have no value, with the line of their first use. */
export type EnvFile = { ok: true; values: Record<string, string>; unset: Array<{ name: string; line: number }> } | { ok: false; problem: EnvFileProblem };

const KEY_CHAR = /[\p{L}\p{N}_.\-[\]]/u;
const SPACE = /[\t\v\f\r \u0085\u00a0]/;

export function parseEnvFile(text: string, lookup: Lookup): EnvFile {
  const src = text.replace(/^\uFEFF/, '');
  const values: Record<string, string> = {};
  const unset: Array<{ name: string; line: number }> = [];
  const resolve: Lookup = (name) => lookup(name) ?? (Object.hasOwn(values, name) ? values[name] : undefined);
  let line = 1;
  let i = 0;
  const fail = (message: string, at = line): EnvFile => ({ ok: false, problem: { line: at, message } });

  while (i < src.length) {
    // Blank space and comment lines between statements.
    const c = src[i];
    if (c === '\n') {
      line++;
      i++;
      continue;
    }
    if (SPACE.test(c)) {
      i++;
      continue;
    }
    if (c === '#') {
      while (i < src.length && src[i] !== '\n') i++;
      continue;
    }
    const startLine = line;
    const exported = /^export[\t ]+/.exec(src.slice(i, i + 20));
    if (exported) i += exported[0].length;
    let k = i;
    while (k < src.length && src[k] !== '=' && src[k] !== ':' && src[k] !== '\n') {
      if (!SPACE.test(src[k]) && !KEY_CHAR.test(src[k])) {
        const text = src.slice(i, src.indexOf('\n', i) < 0 ? src.length : src.indexOf('\n', i));
        return fail(`unexpected character ${JSON.stringify(src[k])} in variable name ${JSON.stringify(text)}`);
      }
      k++;
    }
    const key = src.slice(i, k).trim();
    if (/\s/.test(key)) return fail(`the name ${JSON.stringify(key)} has a space in it`);
    if (k >= src.length || src[k] === '\n') {
      // `KEY` alone: the value comes from the variables, or the key is left out.
      const v = lookup(key);
      if (v !== undefined) values[key] = v;
      i = k;
      continue;
    }
    if (key === '') return fail(`expected KEY=VALUE, found ${JSON.stringify(src.slice(i, src.indexOf('\n', i) < 0 ? undefined : src.indexOf('\n', i)))}`);
    i = k + 1;
    while (i < src.length && SPACE.test(src[i])) i++;
    const quote = src[i];
    let raw: string;
    let literal = false;
    if (quote === '"' || quote === "'") {
      let chars = '';
      let escaped = false;
      let j = i + 1;
      let closed = false;
      for (; j < src.length; j++) {
        const ch = src[j];
        if (ch === '\n') line++;
        if (ch !== quote) {
          if (!escaped && ch === '\\') {
            escaped = true;
            continue;
          }
          if (escaped) {
            escaped = false;
            chars += '\\';
          }
          chars += ch;
          continue;
        }
        if (escaped) {
          escaped = false;
          chars += ch;
          continue;
        }
        closed = true;
        break;
      }
      if (!closed) return fail(`unterminated quoted value ${src.slice(i, src.indexOf('\n', i) < 0 ? undefined : src.indexOf('\n', i))}`, startLine);
      raw = quote === '"' ? unescape(chars) : chars;
      literal = quote === "'";
      i = j + 1;
    } else {
      const end = src.indexOf('\n', i) < 0 ? src.length : src.indexOf('\n', i);
      const value = src.slice(i, end);
      const comment = value.indexOf(' #');
      raw = (comment < 0 ? value : value.slice(0, comment)).replace(/\s+$/, '');
      i = end;
    }
    if (literal) {
      values[key] = raw;
      continue;
    }
    const r = substitute(raw, resolve);
    if (!r.ok) return fail(describeError(r.error), startLine);
    for (const name of r.unset) if (!unset.some((u) => u.name === name)) unset.push({ name, line: startLine });
    values[key] = r.value;
  }
  return { ok: true, values, unset };
}

const ESCAPES: Record<string, string> = { a: '\x07', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v', '"': '"', '\\': '\\' };

/** Double-quoted escapes; `\$` becomes `$$`, so that interpolation leaves one literal `$`. */
function unescape(s: string): string {
  return s.replace(/\\(?:([abfnrtv"\\$])|0([0-7]{0,3}))/g, (_, c: string | undefined, octal: string | undefined) => {
    if (c === '$') return '$$';
    if (c !== undefined) return ESCAPES[c];
    return String.fromCharCode(parseInt(octal || '0', 8));
  });
}
