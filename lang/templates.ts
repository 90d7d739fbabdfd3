// Templates in playbooks: handlebars in strict mode (a missing variable is an error, never an
// empty string). One instance, shared by the controller (which renders almost everything) and
// the agent (which renders only what needs results registered on the host).
import Handlebars from 'handlebars';
import { registerHelpers } from './template-helpers.js';
import { registerDiscoveryHelpers } from './discovery-helpers.js';

export const hbs = Handlebars.create();
// The same helpers on both sides: a deferred template rendered by the agent reads like any other.
registerHelpers(hbs);
registerDiscoveryHelpers(hbs);
// Handlebars' log helper prints with console.log: on the controller, straight onto the operator's
// terminal (and into --json's stdout), around the masking of secrets.
hbs.unregisterHelper('log');
const cache = new Map<string, HandlebarsTemplateDelegate>();

export function renderString(s: string, context: object): string {
  let t = cache.get(s);
  if (!t) cache.set(s, (t = hbs.compile(s, { strict: true, noEscape: true })));
  return t(context);
}

/** Renders every string inside a value that contains a template; throws handlebars' errors. */
export function renderDeep(value: unknown, context: object): unknown {
  if (typeof value === 'string') return value.includes('{{') ? renderString(value, context) : value;
  if (Array.isArray(value)) return value.map((v) => renderDeep(v, context));
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, renderDeep(v, context)]));
  return value;
}

/** The name of the variable a strict-mode error complains about, if that is the error. */
export function missingVariable(e: unknown): string | undefined {
  return /"([^"]+)" not defined/.exec((e as Error).message ?? '')?.[1];
}
