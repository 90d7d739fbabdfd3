// A vars file is read by a run as `berth validate` reads it: YAML merge keys merge (validate takes
// them), a tag berth does not know is no Node warning on the operator's terminal, and the vars a
// Compose file is interpolated with come from the same reading.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { composeOfPlay, type PlayWithCompose } from '../controller/compose/playbook.js';
import { loadForRun } from '../controller/run/load-for-run.js';

const dir = mkdtempSync(join(tmpdir(), 'berth-vars-files-'));
const warnings: string[] = [];
process.on('warning', (w) => warnings.push(`${w.name}: ${w.message}`));

test.after(() => rmSync(dir, { recursive: true, force: true }));

test('vars files: merge keys merge, and an unknown tag prints no process warning', async () => {
  writeFileSync(join(dir, 'vars.yml'), 'base: &base { port: 8080, user: app }\nweb:\n  <<: *base\n  port: 9090\nnote: !custom text\n');
  writeFileSync(join(dir, 'site.yml'), 'inventory: { hosts: { h1: {} } }\nvars_files: [vars.yml]\nplays:\n  - hosts: all\n    tasks: [{ ping: }]\n');
  const r = loadForRun(join(dir, 'site.yml'));
  if (!r.ok) return assert.unreachable(JSON.stringify(r.error));
  assert.equal(r.value.doc.vars?.web, { port: 9090, user: 'app' });
  assert.is(r.value.doc.vars?.note, 'text');
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(warnings, []);
});

test('a Compose file is interpolated with vars a merge key brought from a play\'s vars file', async () => {
  writeFileSync(join(dir, 'play-vars.yml'), 'defaults: &d { TAG: "1.36" }\n<<: *d\nlabel: !custom app\n');
  writeFileSync(join(dir, 'compose.yaml'), 'services:\n  web:\n    image: "busybox:${TAG}"\n    labels: { app: "${label}" }\n');
  writeFileSync(join(dir, 'compose-site.yml'), 'inventory: { hosts: { h1: {} } }\nplays:\n  - hosts: all\n    vars_files: [play-vars.yml]\n    compose: compose.yaml\n');
  const r = loadForRun(join(dir, 'compose-site.yml'));
  if (!r.ok) return assert.unreachable(JSON.stringify(r.error));
  assert.equal(r.value.warnings.map((w) => w.message), []);
  const web = (r.value.doc.plays[0] as PlayWithCompose)[composeOfPlay]?.services.web as { image?: string; labels?: unknown } | undefined;
  if (!web) return assert.unreachable('no service web');
  assert.is(web.image, 'busybox:1.36');
  assert.equal(web.labels, { app: 'app' });
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(warnings, []);
});

test('a vars file a run cannot read is reported at the playbook line that names it', () => {
  // A path with {{ is left alone by validate (known per host); the run reads it as written.
  writeFileSync(join(dir, 'missing-site.yml'), 'inventory: { hosts: { h1: {} } }\nplays:\n  - hosts: all\n    vars_files: ["{{ env }}.yml"]\n    tasks: [{ ping: }]\n');
  const r = loadForRun(join(dir, 'missing-site.yml'));
  if (r.ok) return assert.unreachable('loaded');
  assert.equal(r.error.map((e) => [e.where, e.message, e.exit]), [[`${join(dir, 'missing-site.yml')}:4:18`, 'vars file {{ env }}.yml: no such file', 2]]);
});

test.run();
