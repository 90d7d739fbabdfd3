// Test helper: runs tasks on a real agent the way a playbook run does (render params, prepare
// them on the controller, send the plan), over any transport: local (`sh -c`) or SSH.
import { createHash } from 'node:crypto';
import { lstatSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startAgent, type AgentStart } from '../../controller/agent/start-agent.js';
import { BlobRegistry } from '../../controller/blobs.js';
import type { BerthError } from '../../controller/errors.js';
import { localTransport } from '../../controller/local-transport.js';
import { prepares } from '../../controller/prepare/registry.js';
import { renderValue } from '../../controller/run/render.js';
import type { HostTransport } from '../../controller/transport.js';
import type { AgentEvent, ChangeReport, HostPlan, RunResult, TaskStatus } from '../../protocol/agent-protocol.js';

export interface TaskSpec {
  module: string;
  params: unknown;
  name?: string;
}

export interface TaskEnd {
  status: TaskStatus;
  changes: ChangeReport[];
  message?: string;
}

export type Outcome =
  | { ok: true; result: RunResult; tasks: TaskEnd[]; output: string[] }
  /** The controller refused the plan (render or prepare error), like a real run would. */
  | { ok: false; error: BerthError };

export interface RunOptions {
  check?: boolean;
  diff?: boolean;
  vars?: Record<string, unknown>;
  /** Folder relative `src` paths start from (the playbook's folder). */
  baseDir?: string;
}

export interface TestAgent {
  start: AgentStart;
  blobs: BlobRegistry;
  run(tasks: TaskSpec[], opts?: RunOptions): Promise<Outcome>;
  close(): void;
}

export async function testAgent(transport: HostTransport, host: string, become = false): Promise<TestAgent> {
  const started = await startAgent(transport, { become, host });
  if (!started.ok) throw new Error(`agent did not start on ${host}: ${started.error.message}`);
  const blobs = new BlobRegistry();
  started.value.client.blobs = blobs;
  const facts = started.value.hello.facts;
  return {
    start: started.value,
    blobs,
    async run(specs, opts = {}) {
      const scope = { vars: opts.vars ?? {}, facts, host, groups: { all: [host] }, hostGroups: [] as string[] };
      const tasks: HostPlan['tasks'] = [];
      for (const [index, t] of specs.entries()) {
        const where = `playbook.yml:${index + 1}:3`;
        const rendered = renderValue(t.params, scope, where);
        if (!rendered.ok) return rendered;
        const prepare = prepares[t.module];
        const params = prepare ? prepare(rendered.value.value, { blobs, baseDir: opts.baseDir ?? process.cwd(), scope, where }) : { ok: true as const, value: rendered.value.value };
        if (!params.ok) return params;
        tasks.push({ index, name: t.name ?? t.module, module: t.module, params: params.value });
      }
      const plan: HostPlan = { host, check: opts.check ?? false, diff: opts.diff ?? false, tasks, handlers: [], vars: {}, secrets: [] };
      const ends: TaskEnd[] = [];
      const output: string[] = [];
      const res = await started.value.client.request({ method: 'run', params: plan }, (e: AgentEvent) => {
        if (e.kind === 'task-end') ends.push({ status: e.status, changes: e.changes, message: e.message });
        if (e.kind === 'output') output.push(e.line);
      }).done;
      if (!res.ok) throw new Error(`run failed: ${res.error.message}`);
      return { ok: true, result: res.result as RunResult, tasks: ends, output };
    },
    close: () => started.value.client.bye(),
  };
}

/** Narrows an outcome to a completed run, failing the test with the controller's error otherwise. */
export function ran(o: Outcome): Extract<Outcome, { ok: true }> {
  if (!o.ok) throw new Error(`the controller refused the plan: ${o.error.where ?? ''}: ${o.error.message}`);
  return o;
}

/**
 * A fingerprint of everything under `dir`: names, kinds, modes, owners, content, link targets
 * and mtimes. Equal fingerprints mean nothing was created, removed, rewritten or chmod-ed.
 */
export function treeHash(dir: string): string {
  const h = createHash('sha256');
  const walk = (d: string, rel: string) => {
    for (const name of readdirSync(d).sort()) {
      const p = join(d, name);
      const st = lstatSync(p);
      h.update(`${rel}/${name}\0${st.mode}\0${st.uid}\0${st.gid}\0${st.mtimeMs}\0`);
      if (st.isSymbolicLink()) h.update(readlinkSync(p));
      else if (st.isFile()) h.update(readFileSync(p));
      else if (st.isDirectory()) walk(p, `${rel}/${name}`);
    }
  };
  walk(dir, '');
  return h.digest('hex');
}

export const modeOf = (path: string) => (lstatSync(path).mode & 0o7777).toString(8).padStart(4, '0');

/**
 * The set-up every local module test shares: the agent's own files in one temp dir
 * (BERTH_HOST_DIR), the test's paths in another, a real agent through the local transport,
 * and everything removed after the file's last test.
 */
export function localAgentFixture(suite: { before(fn: () => unknown): void; after(fn: () => unknown): void }, label: string): { work: string; agent: TestAgent } {
  const hostDir = mkdtempSync(join(tmpdir(), 'berth-host-'));
  process.env.BERTH_HOST_DIR = hostDir;
  const work = mkdtempSync(join(tmpdir(), `berth-${label}-`));
  const transport = localTransport();
  let real: TestAgent | undefined;
  const started = (): TestAgent => real ?? (() => { throw new Error('the test agent is not started yet (use it inside a test)'); })();
  suite.before(async () => {
    real = await testAgent(transport, 'local');
  });
  suite.after(() => {
    real?.close();
    transport.close();
    rmSync(hostDir, { recursive: true, force: true });
    rmSync(work, { recursive: true, force: true });
  });
  return {
    work,
    agent: {
      get start() { return started().start; },
      get blobs() { return started().blobs; },
      run: (tasks, opts) => started().run(tasks, opts),
      close: () => started().close(),
    },
  };
}
