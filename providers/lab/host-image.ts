// The lab host image: mmdebstrap -> zstd tarball in the cache -> `docker import` as the base ->
// a small layer (entrypoint, sshd config, user `berth`). Each stage is skipped when its output
// exists, so a warm `lab up` costs one `docker image inspect`, and a removed image comes back
// from the cached tarball in seconds. Cache entries are built under temp names and renamed.
import { existsSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { err, ExitCode, ok, type Result } from '../../controller/errors.js';
import { ensureTools } from './apt-tools.js';
import { assetPath } from './assets.js';
import { docker, type Engine } from './docker.js';
import { lock } from './lock.js';
import { BASE_IMAGE_REPO, IMAGE_REPO, labCacheDir } from './names.js';
import { DEFAULT_RECIPE, dockerfile, imageHash, layerAssets, mmdebstrapArgs, rootfsHash, type HostRecipe } from './recipe.js';
import { lastLine, pipe, run } from './run.js';

type Log = (line: string) => void;

export interface HostImage {
  /** `berth-lab/host:<hash12>` */
  image: string;
  /** The cached rootfs entry (rootfs.tar.zst + dpkg-status); may be absent when only the image is left. */
  rootfsDir: string;
  rootfsHash: string;
  recipe: HostRecipe;
}

export const rootfsDir = (r: HostRecipe = DEFAULT_RECIPE): string => join(labCacheDir(), `rootfs-${rootfsHash(r).slice(0, 16)}`);
// systemd hosts are another repository: whatever takes "the newest berth-lab/host image" (the
// Vagrantfile's docker provider) must not get an image that needs systemd's run options.
export const hostImageTag = (r: HostRecipe = DEFAULT_RECIPE): string => `${r.init === 'systemd' ? `${IMAGE_REPO}-systemd` : IMAGE_REPO}:${imageHash(r).slice(0, 12)}`;

const imageExists = async (e: Engine, ref: string): Promise<boolean> => (await docker(e, ['image', 'inspect', '--format', '{{.Id}}', ref])).code === 0;

export async function ensureHostImage(e: Engine, log: Log, r: HostRecipe = DEFAULT_RECIPE): Promise<Result<HostImage>> {
  const image = hostImageTag(r);
  const found: HostImage = { image, rootfsDir: rootfsDir(r), rootfsHash: rootfsHash(r), recipe: r };
  if (await imageExists(e, image)) return ok(found);
  const unlock = await lock(join(labCacheDir(), 'locks', 'build'), (pid) => log(`waiting for berth (pid ${pid}), which is building the lab image`));
  try {
    if (await imageExists(e, image)) return ok(found);
    const base = `${BASE_IMAGE_REPO}:${found.rootfsHash.slice(0, 12)}`;
    await removeStaleTemps();
    if (!(await imageExists(e, base))) {
      const rootfs = await ensureRootfs(log, r);
      if (!rootfs.ok) return rootfs;
      const zstd = await ensureTools(['zstd'], log);
      if (!zstd.ok) return zstd;
      log(`importing the host rootfs as ${base}`);
      const t0 = Date.now();
      const imp = await pipe(['zstd', '-dc', join(rootfs.value, 'rootfs.tar.zst')], [e.cli, 'import', '-', base], { env: e.env });
      if (imp.code !== 0) return err({ code: 'lab.image-import', message: `docker import failed: ${lastLine(imp)}`, exit: ExitCode.failed });
      log(`imported in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    }
    log(`building ${image}`);
    const built = await buildLayer(e, base, image, r);
    if (!built.ok) return built;
    return ok(found);
  } finally {
    await unlock();
  }
}

/**
 * Removes temp entries of runs that were cut short. Only called under the build lock: nobody else
 * is building then, so every temp entry is garbage.
 */
export async function removeStaleTemps(): Promise<void> {
  const entries = await readdir(labCacheDir()).catch(() => [] as string[]);
  await Promise.all(entries.filter((n) => n.startsWith('.tmp-')).map((n) => rm(join(labCacheDir(), n), { recursive: true, force: true })));
}

/** The cached rootfs entry, built with mmdebstrap when missing. */
export async function ensureRootfs(log: Log, recipe: HostRecipe = DEFAULT_RECIPE): Promise<Result<string>> {
  const dir = rootfsDir(recipe);
  if (existsSync(join(dir, 'rootfs.tar.zst')) && existsSync(join(dir, 'dpkg-status'))) return ok(dir);
  const tools = await ensureTools(['mmdebstrap', 'zstd'], log);
  if (!tools.ok) return tools;
  await mkdir(labCacheDir(), { recursive: true });
  const tmp = await mkdtemp(join(labCacheDir(), '.tmp-rootfs-'));
  try {
    log(`building the lab host rootfs (${recipe.init}) with mmdebstrap (first run only; about a minute)`);
    const t0 = Date.now();
    const argv = mmdebstrapArgs(join(tmp, 'rootfs.tar.zst'), tmp, recipe);
    const r = await run(argv, { env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' }, showStderr: process.env.BERTH_DEBUG === '1' });
    if (r.code !== 0) {
      return err({
        code: 'lab.mmdebstrap',
        message: `mmdebstrap failed: ${lastLine(r)}`,
        hint: 'the lab host image is built from deb.debian.org (set BERTH_LAB_MIRROR for another mirror); rerun with BERTH_DEBUG=1 to see its output',
        exit: ExitCode.failed,
      });
    }
    if (!existsSync(join(tmp, 'status'))) return err({ code: 'lab.mmdebstrap', message: 'mmdebstrap did not copy out the dpkg status file', exit: ExitCode.failed });
    await rename(join(tmp, 'status'), join(tmp, 'dpkg-status'));
    log(`rootfs built in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    await rm(dir, { recursive: true, force: true });
    await rename(tmp, dir);
    return ok(dir);
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

async function buildLayer(e: Engine, base: string, image: string, recipe: HostRecipe): Promise<Result<void>> {
  const ctx = await mkdtemp(join(labCacheDir(), '.tmp-layer-'));
  try {
    await writeFile(join(ctx, 'Dockerfile'), dockerfile(base, recipe));
    for (const a of layerAssets(recipe)) await copyFile(assetPath(a), join(ctx, a));
    // BuildKit is not always there (no buildx with Debian's engine); the classic builder is.
    const r = await docker(e, ['build', '-q', '-t', image, ctx], { env: { ...e.env, DOCKER_BUILDKIT: '0' } });
    if (r.code !== 0) return err({ code: 'lab.image-build', message: `building ${image} failed: ${lastLine(r)}`, exit: ExitCode.failed });
    return ok(undefined);
  } finally {
    await rm(ctx, { recursive: true, force: true });
  }
}

/** The image's dpkg status, for resolving the apt repository: from the cache, else from the image. */
export async function imageDpkgStatus(e: Engine, img: HostImage, into: string): Promise<Result<string>> {
  const cached = join(img.rootfsDir, 'dpkg-status');
  if (existsSync(cached)) return ok(cached);
  const r = await docker(e, ['run', '--rm', '--entrypoint', 'cat', img.image, '/var/lib/dpkg/status']);
  if (r.code !== 0) return err({ code: 'lab.image-status', message: `cannot read the dpkg status of ${img.image}: ${lastLine(r)}`, exit: ExitCode.failed });
  const out = join(into, 'dpkg-status');
  await writeFile(out, r.stdout);
  return ok(out);
}
