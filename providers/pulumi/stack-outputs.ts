// A Pulumi stack's outputs as plain JSON: from a file saved with `pulumi stack output --json`,
// or from the stack itself through the Automation API when the pulumi CLI is installed. The
// Automation API is asynchronous and inventories resolve synchronously, so it runs in a child
// node process (assets/stack-outputs.cjs).
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { err, ExitCode, ok, type BerthError, type Result } from '../../controller/errors.js';
import { packageRoot } from '../../controller/paths.js';

export type StackOutputs = Record<string, unknown>;

export function outputsFromFile(path: string, where: string): Result<StackOutputs, BerthError[]> {
  if (!existsSync(path)) {
    return err([{ code: 'inventory.pulumi-outputs-missing', message: `the stack outputs file ${path} does not exist`, where, hint: 'save it with `pulumi stack output --json --show-secrets > FILE`', exit: ExitCode.badInput }]);
  }
  let data: unknown;
  try {
    data = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    return err([{ code: 'inventory.pulumi-outputs-json', message: `${path} is not JSON: ${(e as Error).message}`, where, hint: 'it should hold what `pulumi stack output --json` prints', exit: ExitCode.badInput }]);
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    return err([{ code: 'inventory.pulumi-outputs-json', message: `${path} must hold one JSON object of stack outputs`, where, hint: 'it should hold what `pulumi stack output --json` prints', exit: ExitCode.badInput }]);
  }
  return ok(data as StackOutputs);
}

/** The pulumi CLI on PATH (the Automation API drives it; @pulumi/pulumi does not ship it). */
export function pulumiCli(env: NodeJS.ProcessEnv = process.env): string | undefined {
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    if (dir && existsSync(join(dir, 'pulumi'))) return join(dir, 'pulumi');
  }
  return undefined;
}

const TIMEOUT_MS = 120_000;

export function outputsFromStack(workDir: string, stack: string | undefined, where: string, env: NodeJS.ProcessEnv = process.env): Result<StackOutputs, BerthError[]> {
  if (!pulumiCli(env)) {
    return err([{
      code: 'inventory.pulumi-cli-missing',
      message: 'reading a Pulumi stack needs the pulumi CLI, which is not on PATH',
      where,
      hint: 'install it (https://www.pulumi.com/docs/install/), or save the outputs where it runs with `pulumi stack output --json --show-secrets > stack.json` and use `outputs_file: stack.json`',
      exit: ExitCode.badInput,
    }]);
  }
  if (!existsSync(join(workDir, 'Pulumi.yaml')) && !existsSync(join(workDir, 'Pulumi.yml'))) {
    return err([{ code: 'inventory.pulumi-no-project', message: `there is no Pulumi.yaml in ${workDir}`, where, hint: '`dir:` is the Pulumi project folder, relative to the playbook', exit: ExitCode.badInput }]);
  }
  const script = join(packageRoot(), 'providers', 'pulumi', 'assets', 'stack-outputs.cjs');
  const r = spawnSync(process.execPath, [script, workDir, ...(stack ? [stack] : [])], { env, encoding: 'utf8', timeout: TIMEOUT_MS, maxBuffer: 64 * 1024 * 1024 });
  if (r.status !== 0 || r.error) {
    const why = (r.error?.message ?? r.stderr).trim() || `exit code ${r.status}`;
    return err([{ code: 'inventory.pulumi-stack', message: `cannot read the outputs of stack ${stack ?? '(selected)'} in ${workDir}: ${why}`, where, exit: ExitCode.failed }]);
  }
  try {
    return ok(JSON.parse(r.stdout) as StackOutputs);
  } catch {
    return err([{ code: 'inventory.pulumi-stack', message: `the Automation API printed something that is not JSON for stack ${stack ?? '(selected)'}`, where, exit: ExitCode.failed }]);
  }
}
