// A playbook fuzzer: 1000 seeded random mutations of the example playbooks (deleted keys, wrong
// types, broken YAML, huge values, unicode). Each must either validate, or fail with located
// errors (file:line:col, exit 2): never a crash, never a hang. A handful also go through the
// real CLI, to check for stack traces on the screen.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parseDocument, stringify } from 'yaml';
import { parsePlaybook } from '../controller/load/index.js';

const root = new URL('..', import.meta.url).pathname;
const examples = readdirSync(join(root, 'playbooks'))
  .filter((f) => f.endsWith('.yml'))
  .map((f) => ({ name: f, text: readFileSync(join(root, 'playbooks', f), 'utf8') }));
const MUTATIONS = 1000;

// Deterministic, so a failure can be replayed: mulberry32.
function rng(seed: number) {
  return () => {
    seed |= 0;
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const WEIRD: unknown[] = [null, true, 0, -1, 1e308, '', ' ', 'x'.repeat(100_000), '🚢 bérth ✓', '{{', '{{ nope }}', [], {}, [[[]]], { a: { b: { c: [1, { d: null }] } } }, '0644', 'on', '\u0000', '../../etc/passwd', '30x', '99999:80'];

type Node = Record<string, unknown> | unknown[];

function paths(value: unknown, at: Array<string | number> = [], out: Array<Array<string | number>> = []) {
  out.push(at);
  if (Array.isArray(value)) value.forEach((v, i) => paths(v, [...at, i], out));
  else if (value && typeof value === 'object') for (const [k, v] of Object.entries(value)) paths(v, [...at, k], out);
  return out;
}

function mutateData(data: unknown, r: () => number): unknown {
  const copy = structuredClone(data) as Node;
  const all = paths(copy).filter((p) => p.length > 0);
  const n = 1 + Math.floor(r() * 3);
  for (let i = 0; i < n && all.length; i++) {
    const p = all[Math.floor(r() * all.length)];
    const parent = p.slice(0, -1).reduce<unknown>((v, k) => (v as Record<string | number, unknown>)?.[k], copy) as Record<string | number, unknown> | undefined;
    if (!parent || typeof parent !== 'object') continue;
    const key = p[p.length - 1];
    const choice = r();
    if (choice < 0.3) {
      if (Array.isArray(parent)) parent.splice(Number(key), 1);
      else delete parent[key];
    } else if (choice < 0.7) parent[key] = WEIRD[Math.floor(r() * WEIRD.length)];
    else if (choice < 0.85 && !Array.isArray(parent)) parent[`${String(key)}${['s', '_', 'X', 'é'][Math.floor(r() * 4)]}`] = parent[key];
    else parent[key] = structuredClone(parent);
  }
  return copy;
}

function mutateText(text: string, r: () => number): string {
  const lines = text.split('\n');
  const i = Math.floor(r() * lines.length);
  const ops = [
    () => (lines[i] = '\t' + lines[i]),
    () => (lines[i] = lines[i].replace(/:/, '')),
    () => (lines[i] = lines[i] + ' "unclosed'),
    () => lines.splice(i, 0, lines[i]),
    () => (lines[i] = '  '.repeat(Math.floor(r() * 6)) + lines[i].trimStart()),
    () => (lines[i] = lines[i].slice(0, Math.floor(r() * lines[i].length))),
    () => (lines[i] = lines[i] + ' &a *a'),
    () => (lines[i] = '- [' + lines[i]),
  ];
  ops[Math.floor(r() * ops.length)]();
  return lines.join('\n');
}

test(`${MUTATIONS} mutations: each is valid or has located errors, never a crash`, () => {
  const r = rng(20261122);
  let valid = 0;
  let invalid = 0;
  for (let i = 0; i < MUTATIONS; i++) {
    const base = examples[i % examples.length];
    let text: string;
    if (r() < 0.35) text = mutateText(base.text, r);
    else {
      try {
        text = stringify(mutateData(parseDocument(base.text).toJS({ maxAliasCount: -1 }), r), { aliasDuplicateObjects: false, lineWidth: 0 });
      } catch {
        continue; // the fuzzer's own serializer gave up on this mutant; not berth's concern
      }
    }
    // Named beside the examples (never written), so their relative files still resolve.
    const file = join(root, 'playbooks', `mutant-${i}.yml`);
    let result;
    try {
      result = parsePlaybook(text, file);
    } catch (e) {
      assert.unreachable(`mutation ${i} of ${base.name} crashed the loader: ${(e as Error).stack}\n--- input ---\n${text.slice(0, 2000)}`);
      return;
    }
    if (result.ok) {
      valid++;
      continue;
    }
    invalid++;
    assert.ok(result.error.length > 0);
    for (const e of result.error) {
      assert.ok((e.where ?? '').startsWith(`${file}:`) && /:\d+:\d+$/.test(e.where ?? ''), `mutation ${i}: error without a position: ${JSON.stringify(e).slice(0, 300)}`);
      assert.is(e.exit, 2);
      assert.ok(e.message.length > 0 && e.message.length < 2000, `mutation ${i}: message of ${e.message.length} chars: ${e.message.slice(0, 300)}`);
      assert.not.match(e.message, /\n\s+at /, 'no stack in a message');
    }
  }
  console.log(`  ${valid} valid, ${invalid} rejected with located errors`);
  assert.ok(invalid > MUTATIONS / 2, 'most mutations break the playbook');
});

test('through the real CLI: exit 0 or 2, never a stack trace', () => {
  const dir = mkdtempSync(join(tmpdir(), 'berth-fuzz-'));
  const r = rng(7);
  try {
    for (let i = 0; i < 12; i++) {
      const base = examples[i % examples.length];
      const text = i % 2 ? mutateText(base.text, r) : stringify(mutateData(parseDocument(base.text).toJS({ maxAliasCount: -1 }), r), { lineWidth: 0 });
      const file = join(dir, `m${i}.yml`);
      writeFileSync(file, text);
      // Referenced files (vars_files, build contexts) resolve against the examples.
      const run = spawnSync(process.execPath, [join(root, 'bin/berth.js'), 'validate', file], { encoding: 'utf8', timeout: 30_000 });
      assert.ok(run.status === 0 || run.status === 2, `exit ${run.status}: ${run.stderr}`);
      assert.not.match(run.stderr, /\n\s+at .*\(.*:\d+:\d+\)/, `stack trace for m${i}: ${run.stderr}`);
      if (run.status === 2) assert.match(run.stderr, /m\d+\.yml:\d+:\d+: /);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
