// The lab apt repository: docker.io (and busybox-static) with exactly the packages the host image
// lacks, so that hosts install Docker offline as the agent would on a real fresh host. Resolved on
// the controller against the image's dpkg status with a private apt state (the controller's own
// apt configuration and package lists are not touched), then indexed as a flat repository.
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { err, ExitCode, ok, type Result } from '../../controller/errors.js';
import { ensureTools } from './apt-tools.js';
import type { Engine } from './docker.js';
import { imageDpkgStatus, removeStaleTemps, type HostImage } from './host-image.js';
import { lock } from './lock.js';
import { labCacheDir } from './names.js';
import { APT_REPO_PACKAGES, RECIPE_VERSION, sources } from './recipe.js';
import { lastLine, run } from './run.js';

type Log = (line: string) => void;

export const aptRepoDir = (img: HostImage): string =>
  join(
    labCacheDir(),
    `apt-${createHash('sha256').update(JSON.stringify({ v: RECIPE_VERSION, rootfs: img.rootfsHash, packages: APT_REPO_PACKAGES, sources: sources() })).digest('hex').slice(0, 16)}`,
  );

export async function ensureAptRepo(e: Engine, img: HostImage, log: Log): Promise<Result<string>> {
  const dir = aptRepoDir(img);
  if (existsSync(join(dir, 'Packages.gz'))) return ok(dir);
  const unlock = await lock(join(labCacheDir(), 'locks', 'build'), (pid) => log(`waiting for berth (pid ${pid}), which is building the lab apt repository`));
  try {
    if (existsSync(join(dir, 'Packages.gz'))) return ok(dir);
    await removeStaleTemps();
    const tools = await ensureTools(['dpkg-scanpackages'], log);
    if (!tools.ok) return tools;
    const tmp = await mkdtemp(join(labCacheDir(), '.tmp-apt-'));
    try {
      const built = await build(e, img, tmp, log);
      if (!built.ok) return built;
      await rm(dir, { recursive: true, force: true });
      await rename(join(tmp, 'repo'), dir);
      return ok(dir);
    } finally {
      await rm(tmp, { recursive: true, force: true });
    }
  } finally {
    await unlock();
  }
}

async function build(e: Engine, img: HostImage, tmp: string, log: Log): Promise<Result<void>> {
  const t0 = Date.now();
  log(`building the lab apt repository (${APT_REPO_PACKAGES.join(', ')} and what they need)`);
  const status = await imageDpkgStatus(e, img, tmp);
  if (!status.ok) return status;
  const state = join(labCacheDir(), 'apt-state');
  const archives = join(tmp, 'archives');
  const repo = join(tmp, 'repo');
  await mkdir(join(state, 'lists', 'partial'), { recursive: true });
  await mkdir(join(state, 'sources.list.d'), { recursive: true });
  await mkdir(join(archives, 'partial'), { recursive: true });
  await mkdir(repo);
  await writeFile(join(state, 'sources.list'), sources().join('\n') + '\n');
  const apt = [
    'apt-get',
    '-o', `Dir::Etc::SourceList=${join(state, 'sources.list')}`,
    '-o', `Dir::Etc::SourceParts=${join(state, 'sources.list.d')}`,
    '-o', `Dir::State::Lists=${join(state, 'lists')}`,
    '-o', `Dir::State::status=${status.value}`,
    '-o', `Dir::State::extended_states=${join(tmp, 'extended_states')}`,
    '-o', `Dir::Cache::archives=${archives}`,
    '-o', 'Dir::Cache::pkgcache=',
    '-o', 'Dir::Cache::srcpkgcache=',
    // Our own lock (above) guards this private state; the system's dpkg lock is not ours to wait on.
    '-o', 'Debug::NoLocking=true',
    '-o', 'APT::Sandbox::User=root',
    '-o', 'Acquire::Retries=3',
  ];
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const upd = await run([...apt, 'update'], { env });
  if (upd.code !== 0) return err({ code: 'lab.apt-repo', message: `apt-get update (lab repository) failed: ${lastLine(upd)}`, exit: ExitCode.failed });
  const dl = await run([...apt, 'install', '-y', '--download-only', '--no-install-recommends', ...APT_REPO_PACKAGES], { env });
  if (dl.code !== 0) return err({ code: 'lab.apt-repo', message: `downloading ${APT_REPO_PACKAGES.join(' ')} failed: ${lastLine(dl)}`, exit: ExitCode.failed });
  const debs = (await readdir(archives)).filter((f) => f.endsWith('.deb'));
  if (debs.length === 0) return err({ code: 'lab.apt-repo', message: 'apt downloaded no packages for the lab repository', exit: ExitCode.failed });
  for (const f of debs) await rename(join(archives, f), join(repo, f));
  const scan = await run(['dpkg-scanpackages', '-m', '.', '/dev/null'], { cwd: repo });
  if (scan.code !== 0) return err({ code: 'lab.apt-repo', message: `dpkg-scanpackages failed: ${lastLine(scan)}`, exit: ExitCode.failed });
  await writeFile(join(repo, 'Packages'), scan.stdout);
  await writeFile(join(repo, 'Packages.gz'), gzipSync(scan.stdout, { level: 9 }));
  await writeFile(join(repo, 'Release'), await release(repo));
  log(`apt repository: ${debs.length} packages in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  return ok(undefined);
}

/** A flat repository's Release file (what apt-ftparchive release writes), so apt-get update does not warn. */
async function release(repo: string): Promise<string> {
  const files = ['Packages', 'Packages.gz'];
  const sums = await Promise.all(
    files.map(async (f) => {
      const b = await readFile(join(repo, f));
      return { f, size: b.length, md5: createHash('md5').update(b).digest('hex'), sha256: createHash('sha256').update(b).digest('hex') };
    }),
  );
  return [
    'Origin: berth',
    'Label: berth lab',
    'Suite: lab',
    'Codename: lab',
    `Date: ${new Date().toUTCString()}`,
    'Description: packages for berth lab hosts (docker.io and what the host image lacks)',
    'MD5Sum:',
    ...sums.map((s) => ` ${s.md5} ${String(s.size).padStart(16)} ${s.f}`),
    'SHA256:',
    ...sums.map((s) => ` ${s.sha256} ${String(s.size).padStart(16)} ${s.f}`),
    '',
  ].join('\n');
}
