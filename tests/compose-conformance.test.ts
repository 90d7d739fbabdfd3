// Conformance (issue 21, point 6): the Compose specification's own example files (compose-go's
// loader fixtures, copied into tests/fixtures/compose/conformance/, see its README) go through
// berth's Compose loader. For every key of every file, berth either takes it (it is in what the
// loader hands on, or translated into it, and the services it makes become specs the agent
// converges) or refuses it with an error at that key's line and column, with a hint: no key is
// silently dropped. Refused keys are taken out of the file and the rest is loaded again, until
// the rest loads. And docs/services.md's table of Compose keys names every key the files use.
// BERTH_CONFORMANCE_DUMP=1 prints each key's verdict (refused with its message, or how it is taken).
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { LineCounter, isMap, isScalar, isSeq, parseDocument, type Document, type Node, type Pair } from 'yaml';
import { BlobRegistry } from '../controller/blobs.js';
import { loadCompose, type ComposeProject } from '../controller/compose/load.js';
import type { LoadError } from '../controller/load/problems.js';
import { pathText } from '../controller/load/path.js';
import { prepareProjectFiles } from '../controller/services/project-files.js';
import { normalizeService } from '../controller/services/service.js';

const root = new URL('./fixtures/compose/conformance/', import.meta.url).pathname;
const docs = readFileSync(new URL('../docs/services.md', import.meta.url), 'utf8');

type Path = Array<string | number>;
interface Entry {
  path: Path;
  /** The pair (a mapping's entry) or the item (a list's), the same object however the document is cut. */
  node: object;
  key?: { line: number; col: number };
  value?: { line: number; col: number };
}

function fixtures(): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const n of readdirSync(d).sort()) {
      const p = join(d, n);
      if (statSync(p).isDirectory()) walk(p);
      else if (/\.ya?ml$/.test(n)) out.push(p);
    }
  };
  walk(root);
  return out;
}

/** Every key and list item of a document, in document order, with where its key and its value start. */
function entries(doc: Document, lines?: LineCounter): Entry[] {
  const out: Entry[] = [];
  const pos = (n: unknown) => {
    const r = (n as Node | null)?.range;
    return lines && r ? lines.linePos(r[0]) : undefined;
  };
  const walk = (node: unknown, path: Path) => {
    if (isMap(node)) {
      for (const pair of node.items as Pair[]) {
        const k = isScalar(pair.key) ? String(pair.key.value) : String(pair.key);
        const p = [...path, k];
        out.push({ path: p, node: pair, key: pos(pair.key), value: pos(pair.value) });
        walk(pair.value, p);
      }
    } else if (isSeq(node)) {
      node.items.forEach((item, i) => {
        const p = [...path, i];
        out.push({ path: p, node: item as object, value: pos(item) });
        walk(item, p);
      });
    }
  };
  walk(doc.contents, []);
  return out;
}

/** The loader's answer to a text in the fixture's folder (relative paths in it start there). */
function load(file: string, text: string) {
  return loadCompose({
    path: file,
    baseDir: dirname(file),
    shownDir: dirname(relative(root, file)),
    vars: {},
    // The same for everyone: no variable the fixtures use is set.
    env: {},
    text,
    atReference: (code, message, hint) => ({ code, message, hint, where: relative(root, file), exit: 2, file: relative(root, file), line: 0, col: 0 }),
  });
}

interface Verdict {
  refused: Map<string, LoadError>;
  accepted: Array<{ path: Path; how: string }>;
  problems: string[];
}

/** Loads a fixture, cutting out what berth refuses until the rest loads; then checks what it took. */
function judge(file: string): Verdict {
  const shown = relative(root, file);
  const text = readFileSync(file, 'utf8');
  const doc = parseDocument(text);
  const original = new Map<object, Path>(entries(doc).map((e) => [e.node, e.path]));
  const refused = new Map<string, LoadError>();
  const problems: string[] = [];
  let project: ComposeProject | undefined;
  for (let round = 0; round < 10 && !project; round++) {
    const current = round === 0 ? text : doc.toString();
    const r = load(file, current);
    if (r.ok) {
      project = r.value;
      break;
    }
    const lines = new LineCounter();
    const seen = entries(parseDocument(current, { lineCounter: lines }), lines);
    const live = entries(doc);
    if (seen.length !== live.length) throw new Error(`${shown}: the document changed shape when written out`);
    const cut = new Set<number>();
    for (const e of r.error) {
      const where = `${shown}:${e.line}:${e.col}`;
      if (!e.hint) problems.push(`${where}: ${e.message}: no hint`);
      if (e.path === undefined) {
        // A file with no key at all (an empty file) is refused as a whole.
        if (seen.length === 0) return { refused: new Map([['(the file)', e]]), accepted: [], problems };
        problems.push(`${where}: ${e.message}: names no key of the file`);
        continue;
      }
      const i = seen.findIndex((x) => pathText(x.path) === e.path);
      if (i < 0) {
        problems.push(`${where}: ${e.message}: at ${e.path}, which is not in the file`);
        continue;
      }
      if (e.line !== seen[i].key?.line && e.line !== seen[i].value?.line) problems.push(`${where}: ${e.message}: not at the line of ${e.path}`);
      refused.set(pathText(original.get(live[i].node)!), e);
      cut.add(i);
    }
    if (problems.length) return { refused, accepted: [], problems };
    // Later entries first, so that list positions still hold for the earlier ones.
    for (const i of [...cut].sort((a, b) => b - a)) {
      const p = seen[i].path;
      // Gone with an ancestor cut in this round already.
      if ([...cut].some((j) => j !== i && seen[j].path.length < p.length && seen[j].path.every((s, k) => s === p[k]))) continue;
      doc.deleteIn(p);
    }
  }
  if (!project) return { refused, accepted: [], problems: [...problems, `${shown}: still refused after cutting every refused key`] };

  // What is left was taken: each key is in what the loader hands on, or in what it became.
  const accepted: Verdict['accepted'] = [];
  for (const e of entries(doc)) {
    const how = carried(e.path, project);
    if (how) accepted.push({ path: original.get(e.node)!, how });
    else problems.push(`${shown}: ${pathText(original.get(e.node)!)} was neither refused nor carried into the loaded services`);
  }
  // And the services become specs the agent converges.
  for (const [name, svc] of Object.entries(project.services)) {
    const files = project.shipped[name] ? prepareProjectFiles('conformance', project.shipped[name], new BlobRegistry(), () => shown) : undefined;
    if (files && !files.ok) {
      problems.push(`${shown}: service ${name}: ${files.error.message}`);
      continue;
    }
    const r = normalizeService(name, svc, { project: 'conformance', baseDir: dirname(file), services: new Set(Object.keys(project.services)), defaultWaitMs: 60_000, shipped: files?.value });
    if (!r.ok) problems.push(`${shown}: service ${name} does not become a spec: ${r.problem.message} (${r.problem.key.join('.')})`);
  }
  return { refused, accepted, problems };
}

/** How a key the loader took reaches what it hands on; undefined when it went nowhere. */
function carried(path: Path, p: ComposeProject): string | undefined {
  const [top, name, key, ...rest] = path;
  if (path.some((s) => typeof s === 'string' && s.startsWith('x-'))) return 'an extension (x-): for anchors, as in Compose';
  if (top === 'version') return 'obsolete, read and ignored as in Compose';
  if (top === 'name') return p.name !== undefined ? 'the project name' : undefined;
  if (top === 'configs' || top === 'secrets') {
    if (name === undefined) return 'declarations';
    const used = Object.values(p.shipped).flat().some((m) => m.kind === top.slice(0, -1) && m.name === name);
    return used ? `shipped to the services that use it` : 'declared and used by no service: nothing to ship, as in Compose';
  }
  if (top === 'networks' || top === 'volumes') return has(p[top], path.slice(1)) ? `a ${top.slice(0, -1)} berth creates` : undefined;
  if (top !== 'services') return undefined;
  if (name === undefined) return 'services';
  const svc = p.services[name as string] as Record<string, unknown> | undefined;
  if (!svc) return undefined;
  if (key === undefined) return 'a service';
  const shipped = p.shipped[name as string] ?? [];
  if (key === 'env_file') return 'read into environment';
  if (key === 'links') return 'network aliases and depends_on';
  if (key === 'devices' && rest.length === 2) return has(svc, [key, rest[0]]) ? 'the long form, as the short form SOURCE:TARGET:PERMISSIONS' : undefined;
  if (key === 'configs' || key === 'secrets') return rest.length === 0 || shipped.some((m) => m.kind === key.slice(0, -1)) ? `shipped as ${key}` : undefined;
  if (key === 'volumes' && typeof rest[0] === 'number' && shipped.some((m) => m.volume === rest[0])) return 'a relative bind mount, shipped';
  // A name in environment: without a value takes the variables' value, or is left out (Compose's rule).
  if (key === 'environment' && rest.length === 1) return has(svc, [key, ...rest]) ? 'environment' : 'no value and no variable: left out, as in Compose';
  return has(svc, [key, ...rest]) ? 'in the service' : undefined;
}

function has(v: unknown, path: Path): boolean {
  let at = v;
  for (const s of path) {
    if (at === null || typeof at !== 'object' || !(String(s) in (at as object))) return false;
    at = (at as Record<string, unknown>)[String(s)];
  }
  return true;
}

const verdicts = new Map<string, Verdict>();
for (const f of fixtures()) verdicts.set(relative(root, f), judge(f));
if (process.env.BERTH_CONFORMANCE_DUMP) {
  for (const [file, v] of verdicts) {
    console.log(`== ${file}`);
    for (const [k, e] of v.refused) console.log(`  refused ${k}: ${e.message} (hint: ${e.hint})`);
    for (const a of v.accepted) console.log(`  taken   ${pathText(a.path)}: ${a.how}`);
  }
}

test('the fixtures are there: the full example and the loader\'s other files', () => {
  assert.ok(verdicts.has('loader/full-example.yml'));
  assert.ok(verdicts.size >= 40, `${verdicts.size} files`);
  const keys = [...verdicts.values()].reduce((n, v) => n + v.refused.size + v.accepted.length, 0);
  assert.ok(keys > 300, `${keys} keys judged`);
});

for (const [file, v] of verdicts) {
  test(`${file}: every key is taken and converged, or refused at its line with a hint`, () => {
    assert.equal(v.problems, []);
  });
}

test('the full example: what berth takes and what it refuses', () => {
  const v = verdicts.get('loader/full-example.yml')!;
  const refused = [...v.refused.keys()];
  // Refused as a whole: keys Compose has and berth does not carry out (each one with its hint).
  for (const k of ['services.foo.annotations', 'services.foo.cgroup_parent', 'services.foo.uts', 'services.foo.build.ssh', 'services.foo.deploy.placement', 'networks.other-network.ipam', 'configs.config2.external']) {
    assert.ok(refused.includes(k), `${k} refused`);
  }
  const taken = new Set(v.accepted.map((a) => pathText(a.path)));
  for (const k of ['services.foo.healthcheck.start_interval', 'services.foo.ports[3]', 'services.foo.volumes[2]', 'services.foo.secrets[0]', 'services.foo.configs[0]', 'services.foo.links', 'services.foo.devices[0].permissions', 'services.foo.env_file[1].required']) {
    assert.ok(taken.has(k), `${k} taken`);
  }
});

/** Maps whose keys are names the file chooses (services, variables, labels), not Compose keys. */
const NAMED = new Set(['services', 'networks', 'volumes', 'configs', 'secrets', 'environment', 'labels', 'args', 'sysctls', 'driver_opts', 'options', 'ulimits', 'extra_hosts', 'depends_on', 'additional_contexts', 'storage_opt', 'annotations', 'aux_addresses']);

test('docs/services.md\'s table of Compose keys names every key the fixtures use', () => {
  const section = docs.slice(docs.indexOf('### Compose keys in berth'));
  const missing = new Set<string>();
  for (const f of fixtures()) {
    const doc = parseDocument(readFileSync(f, 'utf8'));
    const refused = verdicts.get(relative(root, f))!.refused;
    for (const e of entries(doc)) {
      // Below a key berth refuses, the refused key is what the table names.
      if (e.path.some((_, i) => i < e.path.length - 1 && refused.has(pathText(e.path.slice(0, i + 1))))) continue;
      const last = e.path[e.path.length - 1];
      if (typeof last !== 'string' || last.startsWith('x-')) continue;
      const parent = e.path[e.path.length - 2];
      // A name under a map of names (a service, a variable), or a network under a service's networks.
      if (typeof parent === 'string' && NAMED.has(parent)) continue;
      if (e.path.length === 4 && e.path[0] === 'services' && e.path[2] === 'networks') continue;
      if (e.path[0] !== 'services' && e.path.length === 2) continue;
      if (!section.includes(`\`${last}\``) && !section.includes(`.${last}\``)) missing.add(last);
    }
  }
  assert.equal([...missing].sort(), []);
});

test.run();
