// Mutations for the playbook fuzzer (tests/fuzz-playbooks.test.ts), driven by a seeded PRNG so
// that any mutant can be made again from the seed and its number. Three kinds: lines of text
// broken (YAML syntax, indentation, anchors), the parsed document changed (keys deleted, renamed
// or copied, values of the wrong type), and tokens spliced into strings, aimed at what is parsed
// inside strings: templates ({{ }}), conditions (when, changed_when, failed_when) and Compose
// interpolation (${ }).
import { parseDocument, stringify } from 'yaml';

export type Rng = () => number;

/** mulberry32: small, fast, and the same sequence for the same seed everywhere. */
export function rng(seed: number): Rng {
  return () => {
    seed |= 0;
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const pick = <T>(r: Rng, list: readonly T[]): T => list[Math.floor(r() * list.length)];

const WEIRD: unknown[] = [
  null, true, false, 0, -1, 1.5, 1e308, '', ' ', 'x'.repeat(100_000), '🚢 bérth ✓', '{{', '{{ nope }}', '{{#each}}', '${', '${NOPE:?unset}',
  [], {}, [[[]]], { a: { b: { c: [1, { d: null }] } } }, '0644', 'on', '\u0000', '\u001b[2J', '../../etc/passwd', '/etc/passwd', '30x', '99999:80',
  'all', 'web:&prod', 'h1:!h2', '*', 'kernel.rc == 0', ['a == 1', 'b'], 'h1', '-', '~', '=', '.', '@',
];

/** Text that means something inside a template, a condition or a Compose value. */
const TOKENS = [
  '{{', '}}', '{{{', '}}}', '{{#if x}}', '{{/if}}', '{{else}}', '{{#each groups}}', '{{/each}}', '{{ nope }}', '{{ upper }}', '{{ default nope "x" }}',
  '{{> partial}}', '{{!-- c', '{{ facts.os.id }}', '{{ join groups.all }}', '{{ lookup . "x" }}', '{{ @root }}', '{{ ../x }}', '{{ this }}', '{{ int "x" }}',
  '${', '}', '${X:?boom}', '${TAG:-', '${TAG}', '$$', '$', '${ }', '${1}',
  ' and ', ' or ', ' not ', '==', '!=', '(', ')', '"', "'", ' in ', '!', '|', '[', ']', '.', '\\', ' ? ', ' : ', '=~', '[0]', '.length', '||', '&&',
  '\n', '\t', '\u0000', '🚢', 'é', '\u202e', 'kernel.rc', 'facts.cpus', 'group_names', '@key', '../', '~', '#', '&a', '*a', '- ', ': ', '%',
];

const CONDITIONS = new Set(['when', 'changed_when', 'failed_when']);

type Path = Array<string | number>;

function paths(value: unknown, at: Path = [], out: Path[] = []): Path[] {
  out.push(at);
  if (Array.isArray(value)) value.forEach((v, i) => paths(v, [...at, i], out));
  else if (value && typeof value === 'object') for (const [k, v] of Object.entries(value)) paths(v, [...at, k], out);
  return out;
}

const get = (root: unknown, p: Path): unknown => p.reduce<unknown>((v, k) => (v as Record<string | number, unknown> | undefined)?.[k], root);

/** Breaks one line of the text. */
function mutateLines(text: string, r: Rng): { text: string; op: string } {
  const lines = text.split('\n');
  const i = Math.floor(r() * lines.length);
  const j = Math.floor(r() * lines.length);
  const ops: Array<[string, () => void]> = [
    ['tab', () => (lines[i] = '\t' + lines[i])],
    ['drop colon', () => (lines[i] = lines[i].replace(/:/, ''))],
    ['unclosed quote', () => (lines[i] = lines[i] + ' "unclosed')],
    ['duplicate line', () => lines.splice(i, 0, lines[i])],
    ['delete line', () => lines.splice(i, 1)],
    ['swap lines', () => ([lines[i], lines[j]] = [lines[j], lines[i]])],
    ['reindent', () => (lines[i] = '  '.repeat(Math.floor(r() * 6)) + lines[i].trimStart())],
    ['cut line', () => (lines[i] = lines[i].slice(0, Math.floor(r() * lines[i].length)))],
    ['anchor and alias', () => (lines[i] = lines[i] + ' &a *a')],
    ['unknown alias', () => (lines[i] = lines[i].replace(/: .*/, ': *nowhere'))],
    ['merge key', () => lines.splice(i, 0, `${lines[i].match(/^\s*/)?.[0] ?? ''}<<: *a`)],
    ['flow', () => (lines[i] = '- [' + lines[i])],
    ['cut file', () => lines.splice(i)],
    ['document marker', () => lines.splice(i, 0, pick(r, ['---', '...', '%YAML 1.2', '%TAG ! tag:x,2000:']))],
    ['tag', () => (lines[i] = lines[i].replace(/: /, `: ${pick(r, ['!!binary', '!!int', '!!set', '!!omap', '!!timestamp', '!custom', '!!str', '!!float'])} `))],
  ];
  const [op, f] = pick(r, ops);
  f();
  return { text: lines.join('\n'), op: `${op} at line ${i + 1}` };
}

/** Splices a token into the text at a random place (template files, .env files). */
function spliceText(text: string, r: Rng): { text: string; op: string } {
  const at = Math.floor(r() * (text.length + 1));
  const token = pick(r, TOKENS);
  const cut = r() < 0.2 ? Math.floor(r() * 8) : 0;
  return { text: text.slice(0, at) + token + text.slice(at + cut), op: `splice ${JSON.stringify(token)} at ${at}` };
}

/** Changes the parsed document: keys deleted, values swapped for odd ones, keys renamed or copied, strings spliced. */
function mutateData(data: unknown, r: Rng): { data: unknown; op: string } {
  const copy = structuredClone(data) as Record<string, unknown>;
  const all = paths(copy).filter((p) => p.length > 0);
  const strings = all.filter((p) => typeof get(copy, p) === 'string');
  // Strings that are parsed again (templates, conditions, Compose variables) are hit more often.
  const parsed = strings.filter((p) => CONDITIONS.has(String(p.find((k) => typeof k === 'string' && CONDITIONS.has(k)) ?? '')) || /\{\{|\$\{?/.test(String(get(copy, p))));
  const ops: string[] = [];
  const n = 1 + Math.floor(r() * 3);
  for (let i = 0; i < n && all.length; i++) {
    const choice = r();
    const p = choice < 0.35 && strings.length ? pick(r, choice < 0.25 && parsed.length ? parsed : strings) : pick(r, all);
    const parent = get(copy, p.slice(0, -1)) as Record<string | number, unknown> | undefined;
    if (!parent || typeof parent !== 'object') continue;
    const key = p[p.length - 1];
    const at = p.join('.');
    if (choice < 0.35 && typeof parent[key] === 'string') {
      const s = parent[key] as string;
      const pos = Math.floor(r() * (s.length + 1));
      const token = pick(r, TOKENS);
      parent[key] = s.slice(0, pos) + token + s.slice(pos + (r() < 0.3 ? Math.floor(r() * 6) : 0));
      ops.push(`splice ${JSON.stringify(token)} into ${at}`);
    } else if (choice < 0.55) {
      if (Array.isArray(parent)) parent.splice(Number(key), 1);
      else delete parent[key];
      ops.push(`delete ${at}`);
    } else if (choice < 0.8) {
      const w = pick(r, WEIRD);
      parent[key] = structuredClone(w);
      ops.push(`set ${at} = ${JSON.stringify(w)?.slice(0, 40)}`);
    } else if (choice < 0.9 && !Array.isArray(parent)) {
      const renamed = `${String(key)}${pick(r, ['s', '_', 'X', 'é', ' ', '-'])}`;
      parent[renamed] = parent[key];
      if (r() < 0.5) delete parent[key];
      ops.push(`rename/copy ${at} -> ${renamed}`);
    } else {
      parent[key] = structuredClone(parent);
      ops.push(`nest ${at}`);
    }
  }
  return { data: copy, op: ops.join('; ') };
}

export type FileKind = 'yaml' | 'text';

/**
 * One mutant of a file: text as berth would read it, or undefined when the fuzzer's own YAML
 * writer cannot write the changed document (the caller draws again: every counted mutant ran).
 */
export function mutate(text: string, kind: FileKind, r: Rng): { text: string; op: string } | undefined {
  if (kind === 'text') return r() < 0.7 ? spliceText(text, r) : mutateLines(text, r);
  const choice = r();
  if (choice < 0.3) return mutateLines(text, r);
  try {
    const m = mutateData(parseDocument(text, { logLevel: 'silent' }).toJS({ maxAliasCount: -1 }), r);
    return { text: stringify(m.data, { aliasDuplicateObjects: false, lineWidth: 0 }), op: m.op };
  } catch {
    return undefined;
  }
}
