// The ambassador's image, built on the host from the host's own haproxy (Debian's package, from
// whatever apt source the host uses): FROM scratch with /usr/sbin/haproxy and exactly the shared
// libraries `ldd` says it loads. No registry, no base image, a few MB. The tag is a hash of the
// files, so an upgraded haproxy makes a new image and an unchanged one is never rebuilt.
import { createHash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type Docker from 'dockerode';
import { Readable } from 'node:stream';
import tar from 'tar-stream';
import { capture } from '../../modules/lib/exec.js';
import { readJson, writeJson } from '../registry/json-file.js';
import { berthDir } from '../registry/paths.js';
import { CONFIG_IN_CONTAINER } from './spec.js';

export const HAPROXY = '/usr/sbin/haproxy';
export const IMAGE_REPO = 'berth/ambassador';

export type ImageResult = { ok: true; tag: string; built: boolean } | { ok: false; message: string; detail?: string };

/** Absolute paths of the binary and every library it loads (the dynamic loader included). */
export async function haproxyFiles(): Promise<{ ok: true; files: string[] } | { ok: false; message: string }> {
  const r = await capture(['ldd', HAPROXY]);
  if (r.code !== 0) return { ok: false, message: `ldd ${HAPROXY} failed: ${(r.stderr || r.stdout || r.spawnError || '').trim()}` };
  const libs = new Set<string>();
  for (const line of r.stdout.split('\n')) {
    // "libz.so.1 => /lib/x86_64-linux-gnu/libz.so.1 (0x...)" or "/lib64/ld-linux-x86-64.so.2 (0x...)"
    const m = /=>\s*(\/\S+)/.exec(line) ?? /^\s*(\/\S+)\s+\(/.exec(line);
    if (m) libs.add(m[1]);
    if (/=>\s*not found/.test(line)) return { ok: false, message: `haproxy needs a library the host lacks: ${line.trim()}` };
  }
  return { ok: true, files: [HAPROXY, ...[...libs].sort()] };
}

const dockerfile = ['FROM scratch', 'COPY rootfs/ /', `ENTRYPOINT ["${HAPROXY}", "-W", "-db", "-f", "${CONFIG_IN_CONTAINER}"]`, ''].join('\n');

/** The image's tag: a hash of the Dockerfile and of every file (path and content) it copies. */
export function imageTag(files: string[]): string {
  const h = createHash('sha256').update(dockerfile);
  for (const f of files) h.update(f).update(readFileSync(f));
  return `${IMAGE_REPO}:${h.digest('hex').slice(0, 16)}`;
}

/**
 * Where the last tag was worked out from: each file's identity (inode, size, mtime), and the
 * loader's cache, which decides what `ldd` resolves. While none of them changed, neither did the
 * tag: a no-op apply then costs a few stats instead of `ldd` and hashing ~18 MB of libraries.
 * A package upgrade replaces files (new inodes), which reads and hashes them again.
 */
const stampsPath = () => join(berthDir(), 'cache', 'ambassador-image.json');
const LOADER_CACHE = '/etc/ld.so.cache';
type Stamp = [path: string, ino: number, size: number, mtimeMs: number];

function stampOf(path: string): Stamp | undefined {
  try {
    const st = statSync(path);
    return [path, st.ino, st.size, st.mtimeMs];
  } catch {
    return undefined;
  }
}

/** The image's tag for the haproxy on this host now, with the files it is made of. */
async function currentImage(): Promise<{ ok: true; tag: string; files: string[] } | { ok: false; message: string }> {
  const saved = readJson<{ tag: string; files: string[]; stamps: Stamp[] }>(stampsPath());
  if (saved?.stamps?.every((s) => JSON.stringify(stampOf(s[0])) === JSON.stringify(s))) return { ok: true, tag: saved.tag, files: saved.files };
  const found = await haproxyFiles();
  if (!found.ok) return found;
  const tag = imageTag(found.files);
  const stamps = [...found.files, LOADER_CACHE].map(stampOf).filter((s): s is Stamp => s !== undefined);
  try {
    writeJson(stampsPath(), { tag, files: found.files, stamps });
  } catch {
    // Only a shortcut: without it the next plan hashes the files again.
  }
  return { ok: true, tag, files: found.files };
}

/** The tag when that image exists already; undefined when it must be built (or haproxy is missing). */
export async function builtImage(docker: Docker): Promise<string | undefined> {
  const found = await currentImage();
  if (!found.ok) return undefined;
  return (await docker.getImage(found.tag).inspect().then(() => true, () => false)) ? found.tag : undefined;
}

export async function ensureAmbassadorImage(docker: Docker, log: (l: string) => void = () => {}): Promise<ImageResult> {
  const found = await currentImage();
  if (!found.ok) return found;
  const tag = found.tag;
  if (await docker.getImage(tag).inspect().then(() => true, () => false)) return { ok: true, tag, built: false };

  log(`building ${tag} from ${HAPROXY} and ${found.files.length - 1} libraries`);
  const p = tar.pack();
  p.entry({ name: 'Dockerfile', mode: 0o644 }, dockerfile);
  for (const dir of ['rootfs/tmp', 'rootfs/etc/haproxy-berth']) p.entry({ name: `${dir}/`, type: 'directory', mode: dir.endsWith('tmp') ? 0o1777 : 0o755 });
  // readFileSync follows symlinks: the image gets the library under the name the loader asks for.
  for (const f of found.files) p.entry({ name: `rootfs${f}`, mode: statSync(f).mode & 0o777 }, readFileSync(f));
  p.finalize();
  try {
    const stream = await docker.buildImage(Readable.from(p, { objectMode: false }) as NodeJS.ReadableStream, { t: tag, rm: true, forcerm: true, labels: { 'berth.image': 'ambassador' } });
    const events = await new Promise<Array<{ error?: string; stream?: string }>>((resolve, reject) => docker.modem.followProgress(stream, (e: Error | null, out: Array<{ error?: string }>) => (e ? reject(e) : resolve(out))));
    const failed = events.find((e) => e.error);
    if (failed) return { ok: false, message: `building ${tag} failed: ${failed.error}`, detail: events.map((e) => e.stream ?? '').join('').slice(-2000) };
  } catch (e) {
    return { ok: false, message: `building ${tag} failed: ${(e as Error).message}` };
  }
  return { ok: true, tag, built: true };
}
