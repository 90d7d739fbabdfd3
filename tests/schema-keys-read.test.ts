// Every key the playbook schema accepts is a promise: some code reads it, or validation rejects
// it. This walks the schema (schema/, the module schemas and the inline inventory included) and
// looks in berth's own source, outside schema/, for a read of each property name: `x.name`,
// `x?.name`, or the name as a whole string literal ('name', as in a list of keys or x['name']).
// Comments and the insides of longer strings do not count. The test works on names, not paths:
// a name read for one object passes for every object that has it.
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { TSchema } from '@sinclair/typebox';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parsePlaybook } from '../controller/load/index.js';
import { Playbook, sharedSchema } from '../schema/index.js';

const root = new URL('..', import.meta.url).pathname;

/** Keys read generically, by schema path prefix, each with the reason no code names them. */
const readGenerically: Array<{ prefix: string; why: string }> = [
  {
    prefix: 'playbook.plays[].tasks[].runtime.daemon.',
    why: 'dockerd\'s own daemon.json keys: the object is written to /etc/docker/daemon.json as given (modules/lib/docker-daemon-config.ts, daemonJson) and dockerd reads them',
  },
];

function schemaKeys(): Map<string, string> {
  const keys = new Map<string, string>();
  const seen = new Set<unknown>();
  const walk = (s: TSchema | undefined, path: string): void => {
    if (!s || typeof s !== 'object' || seen.has(s)) return;
    seen.add(s);
    if (typeof s.$ref === 'string') return walk(sharedSchema(s.$ref), path);
    for (const [k, v] of Object.entries((s.properties ?? {}) as Record<string, TSchema>)) {
      if (!keys.has(k)) keys.set(k, `${path}.${k}`);
      walk(v, `${path}.${k}`);
    }
    for (const u of ['anyOf', 'oneOf', 'allOf'] as const) for (const v of (s[u] ?? []) as TSchema[]) walk(v, path);
    if (s.items && typeof s.items === 'object') walk(s.items as TSchema, `${path}[]`);
    if (s.additionalProperties && typeof s.additionalProperties === 'object') walk(s.additionalProperties as TSchema, `${path}.*`);
    for (const v of Object.values((s.patternProperties ?? {}) as Record<string, TSchema>)) walk(v, `${path}.*`);
  };
  walk(Playbook, 'playbook');
  return keys;
}

function sourceText(): { code: string; text: string } {
  const files: string[] = [];
  const find = (dir: string) => {
    for (const name of readdirSync(dir)) {
      const p = join(dir, name);
      if (statSync(p).isDirectory()) find(p);
      else if (name.endsWith('.ts')) files.push(p);
    }
  };
  for (const dir of ['agent', 'cli', 'controller', 'lang', 'modules', 'protocol', 'providers']) find(join(root, dir));
  const text = files.map((f) => readFileSync(f, 'utf8').replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|\s)\/\/.*$/gm, '$1')).join('\n');
  // For property reads, strings are emptied: 'deploy.update_config.x' reads nothing.
  const code = text.replace(/'(?:[^'\\\n]|\\.)*'|"(?:[^"\\\n]|\\.)*"/g, "''");
  return { code, text };
}

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

test('every key of the playbook schema is read by some code outside schema/ (or listed as read generically, with why)', () => {
  const keys = schemaKeys();
  assert.ok(keys.size > 200, `walked ${keys.size} keys: the walk missed the schema`);
  const { code, text } = sourceText();
  const unread = [...keys].filter(([name, path]) => {
    if (readGenerically.some((g) => path.startsWith(g.prefix))) return false;
    const k = escape(name);
    return !new RegExp(`\\.${k}\\b`).test(code) && !new RegExp(`['"]${k}['"]`).test(text);
  });
  assert.equal(unread.map(([name, path]) => `${name} (${path})`), [], 'keys the schema accepts and no code reads: implement them, or take them out of the schema');
});

test('the allow-list is not stale: each prefix still names keys of the schema', () => {
  const paths = [...schemaKeys().values()];
  for (const g of readGenerically) assert.ok(paths.some((p) => p.startsWith(g.prefix)), `${g.prefix} names no key any more`);
});

test('keys that nothing read are gone from the schema: a playbook using them gets an error with a hint', () => {
  const yaml = [
    'plays:', //                                                   1
    '  - hosts: all', //                                           2
    '    gather_facts: false', //                                  3
    '    services:', //                                            4
    '      web:', //                                               5
    '        image: x', //                                         6
    '        deploy:', //                                          7
    '          update_config: { parallelism: 1 }', //              8
    '          restart_policy: { condition: any, window: 5s }', // 9
  ].join('\n');
  const r = parsePlaybook(yaml, 'old.yml');
  assert.not.ok(r.ok, 'the playbook is refused');
  const errors = r.ok ? [] : r.error;
  assert.equal(errors.map((e) => `${e.line}:${e.code}:${e.message}`), [
    '3:schema.unknown-key:unknown key "gather_facts" in a play',
    '8:schema.unknown-key:unknown key "update_config" in a deploy',
    '9:schema.unknown-key:unknown key "window" in a restart policy',
  ]);
  assert.match(errors[0].hint ?? '', 'berth always has the facts');
  assert.match(errors[1].hint ?? '', '`update:`');
});

test.run();
