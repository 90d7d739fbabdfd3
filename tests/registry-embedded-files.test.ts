// The embedded registry on one machine, without containers: registrations are files with an
// expiry that their holder renews, other hosts come from the fleet view, watchers hear about
// both. (Lab hosts run the same backend end to end in registry-embedded.test.ts.)
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { embeddedRegistry, localEntries, writeFleetView } from '../agent/registry/embedded.js';
import { embeddedDir } from '../agent/registry/paths.js';
import type { Instance } from '../agent/registry/types.js';

const dir = mkdtempSync(join(tmpdir(), 'berth-embedded-'));
process.env.BERTH_HOST_DIR = dir;
test.after(() => rmSync(dir, { recursive: true, force: true }));

const inst = (host: string, id: string, port = 80): Instance => ({ id, service: 'web', host, address: `10.0.0.${host.slice(1)}`, port, tags: [], release: 'r1', health: 'passing', registeredAt: new Date().toISOString() });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('register, list, deregister: this host from its files, the others from the fleet view', async () => {
  const reg = embeddedRegistry('h1');
  assert.ok((await reg.register(inst('h1', 'web-1'), 10_000)).ok);
  writeFleetView({ gatheredAt: new Date().toISOString(), instances: [inst('h1', 'stale-copy'), inst('h2', 'web-1'), { ...inst('h3', 'db-1'), service: 'db' }] });
  const l = await reg.list('web');
  assert.ok(l.ok);
  if (l.ok) assert.equal(l.value.map((i) => `${i.host}/${i.id}`), ['h1/web-1', 'h2/web-1'], "this host's own entries come from its files, not the view");
  assert.equal(localEntries().map((i) => i.id), ['web-1']);
  assert.ok((await reg.deregister('web', 'h1', 'web-1')).ok);
  const after = await reg.list('web');
  assert.equal(after.ok && after.value.map((i) => i.host), ['h2']);
  await reg.close();
});

test('a registration runs out when its holder stops renewing it (handover), and is renewed while it lives', async () => {
  const reg = embeddedRegistry('h1');
  await reg.register(inst('h1', 'web-2'), 600);
  await sleep(900);
  assert.equal(localEntries().map((i) => i.id), ['web-2'], 'renewed every third of the TTL');
  const first = localEntries()[0].registeredAt;
  await reg.close({ handover: true });
  assert.ok(existsSync(join(embeddedDir(), 'web', 'web-2.json')), 'handover leaves the file');
  await sleep(700);
  assert.equal(localEntries(), [], 'and it expires with its TTL');
  const again = embeddedRegistry('h1');
  await again.register({ ...inst('h1', 'web-2'), registeredAt: new Date().toISOString() }, 5000);
  assert.is.not(localEntries()[0].registeredAt, first, 'an expired registration starts anew');
  await again.close();
  assert.equal(localEntries(), [], 'close without handover withdraws');
});

test('watch: called with the whole list at once and after each change, including the fleet view and expiries', async () => {
  const reg = embeddedRegistry('h1');
  writeFleetView({ gatheredAt: new Date().toISOString(), instances: [] });
  const seen: string[][] = [];
  const stop = reg.watch('web', (list) => seen.push(list.map((i) => `${i.host}/${i.id}`)));
  await sleep(100);
  await reg.register(inst('h1', 'web-3'), 60_000);
  await sleep(200);
  writeFleetView({ gatheredAt: new Date().toISOString(), instances: [inst('h2', 'web-1')] });
  await sleep(200);
  await reg.deregister('web', 'h1', 'web-3');
  await sleep(200);
  stop();
  assert.equal(seen, [[], ['h1/web-3'], ['h1/web-3', 'h2/web-1'], ['h2/web-1']]);
  await reg.close();
});

test.run();
