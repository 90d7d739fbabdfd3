// The controller's own Docker engine, for `builder: controller` and `ship: true`: build an
// image once here, then ship it to hosts. Reached through the docker CLI and synchronously,
// because task preparation (controller/prepare/) is synchronous; these calls happen once per
// image per run, before any plan is sent, and only for playbooks that ask for them. The CLI
// honours DOCKER_HOST and contexts the way an operator's shell does.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { ExitCode, err, ok, type BerthError, type Result } from '../errors.js';

/** Buffers up to this size: a saved image is held in memory once, then served from there. */
const MAX_BUFFER = 2 ** 32 - 1;

export interface EngineImage {
  Id: string;
  RepoTags: string[] | null;
  RootFS: { Layers?: string[] };
  Config: { Labels: Record<string, string> | null } | null;
}

const failure = (code: string, message: string, where: string, hint?: string): BerthError => ({ code, message, where, hint, exit: ExitCode.failed });

function docker(args: string[], where: string): Result<{ stdout: Buffer; stderr: string }> {
  const r = spawnSync('docker', args, { maxBuffer: MAX_BUFFER, env: { ...process.env, DOCKER_BUILDKIT: '0', DOCKER_CLI_HINTS: 'false' } });
  if (r.error) {
    const e = r.error as NodeJS.ErrnoException;
    return err(failure('image.controller-engine', e.code === 'ENOENT' ? 'builder: controller and ship need the docker CLI on the controller; none is on PATH' : `cannot run docker: ${e.message}`, where));
  }
  const stderr = r.stderr.toString('utf8');
  if (r.status !== 0) {
    const tail = stderr.trim().split('\n').slice(-12).join('\n') || r.stdout.toString('utf8').trim().split('\n').slice(-12).join('\n');
    return err(failure('image.controller-engine', `docker ${args[0]} ${args[1] ?? ''} failed on the controller: ${tail}`.trim(), where));
  }
  return ok({ stdout: r.stdout, stderr });
}

/** The image `ref` names on the controller's engine, or undefined when there is none. */
export function inspectOnController(ref: string, where: string): Result<EngineImage | undefined> {
  const r = spawnSync('docker', ['image', 'inspect', '--format', '{{json .}}', ref], { encoding: 'utf8' });
  if (r.error) return err(failure('image.controller-engine', 'builder: controller and ship need the docker CLI on the controller; none is on PATH', where));
  if (r.status !== 0) {
    if (/no such image|No such object/i.test(r.stderr)) return ok(undefined);
    return err(failure('image.controller-engine', `docker image inspect ${ref} failed on the controller: ${r.stderr.trim()}`, where, 'is the controller\'s docker engine running?'));
  }
  return ok(JSON.parse(r.stdout) as EngineImage);
}

export interface ControllerBuild {
  contextDir: string;
  dockerfile: string;
  tag: string;
  args: Record<string, string>;
  target?: string;
  labels: Record<string, string>;
}

/** `docker build` with the classic builder; the CLI applies the context's .dockerignore itself. */
export function buildOnController(b: ControllerBuild, where: string): Result<EngineImage> {
  const args = ['build', '--quiet', '--tag', b.tag, '--file', join(b.contextDir, b.dockerfile)];
  for (const [k, v] of Object.entries(b.args)) args.push('--build-arg', `${k}=${v}`);
  for (const [k, v] of Object.entries(b.labels)) args.push('--label', `${k}=${v}`);
  if (b.target) args.push('--target', b.target);
  args.push(b.contextDir);
  const built = docker(args, where);
  if (!built.ok) return built;
  const info = inspectOnController(b.tag, where);
  if (!info.ok) return info;
  return info.value ? ok(info.value) : err(failure('image.controller-engine', `docker build on the controller left no image tagged ${b.tag}`, where));
}

/** `docker save` of one image, as one buffer (an uncompressed tar). */
export function saveOnController(id: string, where: string): Result<Buffer> {
  const r = docker(['save', id], where);
  return r.ok ? ok(r.value.stdout) : r;
}
