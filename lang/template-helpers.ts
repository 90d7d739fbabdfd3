// Handlebars helpers for task parameters and template files alike (registered on both
// engines), named like the Jinja filters Ansible users already know. Helpers that transform a
// value fail on an undefined one, with the template line, instead of rendering "undefined".
import type Handlebars from 'handlebars';
import { quote } from 'shell-quote';
import { stringify as toYaml } from 'yaml';

type Hbs = typeof Handlebars;
interface Options {
  name: string;
  hash: Record<string, unknown>;
  loc?: { start: { line: number; column: number } };
  fn?: (ctx: unknown) => string;
  inverse?: (ctx: unknown) => string;
}

export function registerHelpers(hbs: Hbs): void {
  /** Splits helper arguments from the options object handlebars appends. */
  const h = (name: string, fn: (args: unknown[], o: Options) => unknown) =>
    hbs.registerHelper(name, function (this: unknown, ...all: unknown[]) {
      const o = all.pop() as Options;
      return fn(all, o);
    });
  const fail = (o: Options, message: string): never => {
    throw new hbs.Exception(`${o.name}: ${message}`, (o.loc ? { loc: o.loc } : undefined) as ConstructorParameters<Hbs['Exception']>[1]);
  };
  const defined = (o: Options, v: unknown, what = 'its argument'): unknown => (v === undefined ? fail(o, `${what} is undefined`) : v);
  const text = (o: Options, v: unknown): string => {
    defined(o, v);
    return v === null ? '' : typeof v === 'object' ? JSON.stringify(v) : String(v);
  };
  const list = (o: Options, v: unknown): unknown[] => {
    defined(o, v);
    if (Array.isArray(v)) return v;
    if (v && typeof v === 'object') return Object.values(v);
    return fail(o, `expected a list, got ${typeof v}`);
  };
  const truthy = (v: unknown) => (Array.isArray(v) ? v.length > 0 : Boolean(v));

  // Values.
  h('default', ([v, fallback], o) => (v === undefined || v === null || (o.hash.empty !== false && v === '') ? fallback : v));
  h('to_json', ([v, indent]) => JSON.stringify(v ?? null, null, typeof indent === 'number' ? indent : undefined));
  h('to_nice_json', ([v]) => JSON.stringify(v ?? null, null, 2));
  h('to_yaml', ([v], o) => toYaml(defined(o, v)).replace(/\n$/, ''));
  h('bool', ([v]) => (typeof v === 'string' ? /^(true|yes|on|1)$/i.test(v.trim()) : truthy(v)));
  h('int', ([v], o) => {
    const n = parseInt(text(o, v), 10);
    return Number.isNaN(n) ? fail(o, `"${String(v)}" is not a number`) : n;
  });

  // Text.
  h('upper', ([v], o) => text(o, v).toUpperCase());
  h('lower', ([v], o) => text(o, v).toLowerCase());
  h('trim', ([v], o) => text(o, v).trim());
  h('capitalize', ([v], o) => text(o, v).replace(/^./, (c) => c.toUpperCase()));
  h('replace', ([v, from, to], o) => text(o, v).split(String(from)).join(String(to ?? '')));
  h('regex_replace', ([v, re, to], o) => text(o, v).replace(new RegExp(String(re), 'g'), String(to ?? '')));
  h('regex_search', ([v, re], o) => new RegExp(String(re)).exec(text(o, v))?.[0] ?? '');
  h('split', ([v, sep], o) => text(o, v).split(sep === undefined ? /\s+/ : String(sep)));
  h('concat', (args) => args.map((a) => (a === undefined || a === null ? '' : String(a))).join(''));
  h('quote', ([v], o) => quote([text(o, v)]));
  h('b64encode', ([v], o) => Buffer.from(text(o, v)).toString('base64'));
  h('b64decode', ([v], o) => Buffer.from(text(o, v), 'base64').toString('utf8'));
  h('basename', ([v], o) => text(o, v).replace(/\/+$/, '').split('/').pop() ?? '');
  h('dirname', ([v], o) => text(o, v).replace(/\/[^/]*\/?$/, '') || '/');
  // Jinja's indent: every line but the first, unless first=true (the first usually follows a key).
  h('indent', ([v, width], o) => {
    const pad = typeof width === 'string' ? width : ' '.repeat(typeof width === 'number' ? width : 4);
    const lines = text(o, v).split('\n');
    return lines.map((l, i) => ((i > 0 || o.hash.first === true) && l !== '' ? pad + l : l)).join('\n');
  });

  // Lists and maps.
  h('join', ([v, sep], o) => list(o, v).join(sep === undefined ? ', ' : String(sep)));
  h('length', ([v], o) => (typeof v === 'string' ? v.length : list(o, v).length));
  h('first', ([v], o) => list(o, v)[0]);
  h('last', ([v], o) => list(o, v).at(-1));
  h('keys', ([v], o) => Object.keys(defined(o, v) as object));
  h('values', ([v], o) => Object.values(defined(o, v) as object));
  h('unique', ([v], o) => [...new Set(list(o, v))]);
  h('sort', ([v], o) => [...list(o, v)].sort());
  h('contains', ([v, item], o) => (typeof v === 'string' ? v.includes(String(item)) : list(o, v).includes(item)));
  h('array', (args) => args);
  h('lookup_default', ([obj, key, fallback]) => (obj && typeof obj === 'object' && String(key) in obj ? (obj as Record<string, unknown>)[String(key)] : fallback));

  // Logic, for {{#if (eq a b)}}; and/or return the deciding value like JavaScript and Jinja.
  h('eq', ([a, b]) => a === b || (a !== undefined && b !== undefined && a !== null && b !== null && String(a) === String(b) && typeof a !== 'object'));
  h('ne', ([a, b]) => !(a === b || (a !== undefined && b !== undefined && a !== null && b !== null && String(a) === String(b) && typeof a !== 'object')));
  h('lt', ([a, b]) => Number(a) < Number(b));
  h('le', ([a, b]) => Number(a) <= Number(b));
  h('gt', ([a, b]) => Number(a) > Number(b));
  h('ge', ([a, b]) => Number(a) >= Number(b));
  h('and', (args) => args.reduce((acc, v) => (truthy(acc) ? v : acc), true));
  h('or', (args) => args.reduce((acc, v) => (truthy(acc) ? acc : v), false));
  h('not', ([v]) => !truthy(v));
  h('ternary', ([cond, yes, no]) => (truthy(cond) ? yes : no));
}
