// The agent's half of a Compose file's shipped files (agent/services/project-files.ts), on this
// machine's file system under a scratch BERTH_HOST_DIR: a file is written when missing or
// different in content or mode, nothing happens when it is as shipped, a file the service no
// longer ships is removed unless another service of the project ships it, what else is in the
// folder stays, and a symlink planted on the way stops the write.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { ModuleContext } from '../modules/contract.js';
import type { ServiceSpec } from '../modules/service-spec.js';

const scratch = mkdtempSync(join(tmpdir(), 'berth-project-files-'));
process.env.BERTH_HOST_DIR = join(scratch, 'berth');
const { projectFileChanges, projectsDir } = await import('../agent/services/project-files.js');

/** Content by hash, as the blob store hands it to a module. */
const blobs = new Map<string, string>();
function blob(text: string) {
  const sha256 = createHash('sha256').update(text).digest('hex');
  const path = join(scratch, `blob-${sha256}`);
  writeFileSync(path, text);
  blobs.set(sha256, path);
  return { sha256, size: Buffer.byteLength(text) };
}
const ctx = (check = false) =>
  ({
    check,
    diff: false,
    blob: async (sha: string) => (blobs.has(sha) ? { ok: true, path: blobs.get(sha)! } : { ok: false, error: { code: 'blob.unknown', message: sha } }),
  }) as unknown as ModuleContext;

const spec = (service: string, files: ServiceSpec['files']) => ({ playbook: 'proj', service, files }) as unknown as ServiceSpec;

/** Plans, and applies what it planned; the change summaries. */
async function converge(s: ServiceSpec): Promise<string[]> {
  const r = await projectFileChanges(s, ctx());
  if (!r.ok) throw new Error(r.error.message);
  for (const c of r.changes) {
    const a = await c.apply();
    if (!a.ok) throw new Error(a.error.message);
  }
  return r.changes.map((c) => `${c.summary.replace(projectsDir(), '$P')} [${c.cause}]`);
}

const at = (rel: string) => join(projectsDir(), rel);

test('files are written when missing or different, and an unchanged set changes nothing', async () => {
  const conf = { path: 'proj/files/conf/app.yml', ...blob('level: info\n'), mode: 0o644 };
  const secret = { path: 'proj/secrets/web/token', ...blob('s3cret'), mode: 0o400 };
  const check = await projectFileChanges(spec('web', [conf, secret]), ctx(true));
  assert.ok(check.ok && check.changes.length === 2, 'check mode reports the writes');
  assert.not.ok(existsSync(at(conf.path)), 'and makes none');
  assert.equal(await converge(spec('web', [conf, secret])), ['write $P/proj/files/conf/app.yml (12 bytes, mode 0644) [missing]', 'write $P/proj/secrets/web/token (6 bytes, mode 0400) [missing]']);
  assert.is(readFileSync(at(conf.path), 'utf8'), 'level: info\n');
  assert.is(statSync(at(secret.path)).mode & 0o777, 0o400);
  assert.equal(await converge(spec('web', [conf, secret])), [], 'as shipped: nothing to do');

  writeFileSync(at(conf.path), 'edited on the host\n');
  const changed = { ...conf, ...blob('level: debug\n') };
  assert.equal(await converge(spec('web', [changed, { ...secret, mode: 0o440 }])), [
    'write $P/proj/files/conf/app.yml (13 bytes, mode 0644) [content differs]',
    'write $P/proj/secrets/web/token (6 bytes, mode 0440) [mode 0400, not 0440]',
  ]);
  assert.is(readFileSync(at(conf.path), 'utf8'), 'level: debug\n');
});

test('a file no longer shipped is removed, unless another service ships it; other files stay', async () => {
  const shared = { path: 'proj/files/shared.txt', ...blob('shared\n'), mode: 0o644 };
  const own = { path: 'proj/files/own.txt', ...blob('own\n'), mode: 0o644 };
  await converge(spec('a', [shared, own]));
  await converge(spec('b', [shared]));
  writeFileSync(at('proj/files/written-by-a-container.log'), 'data\n');
  assert.equal(await converge(spec('a', [])), ['remove $P/proj/files/own.txt [no longer shipped]']);
  assert.ok(existsSync(at(shared.path)), 'service b still ships it');
  assert.ok(existsSync(at('proj/files/written-by-a-container.log')), 'not berth\'s');
  assert.equal(await converge(spec('a', [])), []);
});

test('a symlink planted in the project folder stops the write', async () => {
  const target = join(scratch, 'elsewhere');
  mkdirSync(target);
  mkdirSync(at('proj/files'), { recursive: true });
  symlinkSync(target, at('proj/files/linked'));
  const r = await projectFileChanges(spec('c', [{ path: 'proj/files/linked/x.conf', ...blob('x\n'), mode: 0o644 }]), ctx());
  assert.not.ok(r.ok);
  if (!r.ok) assert.match(r.error.message, /linked is a symlink: berth does not write through links/);
  assert.not.ok(existsSync(join(target, 'x.conf')));
  const outside = await projectFileChanges(spec('c', [{ path: 'other/files/x', ...blob('x\n'), mode: 0o644 }]), ctx());
  assert.ok(!outside.ok && /outside project proj's folder/.test(outside.error.message), 'a path of another project is refused');
});

test.after(() => rmSync(scratch, { recursive: true, force: true }));

test.run();
