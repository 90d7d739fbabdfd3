// The playbook fuzzer's worker thread (tests/fuzz-playbooks.test.ts): for one mutant it runs what
// `berth validate FILE` runs, and, when validate accepts the file, what `berth apply` runs before it
// connects (cli/run-input.ts) and then every host's plan for every play (buildPlan, as apply renders
// them) for hosts with valid facts and no SSH. It judges nothing: it reports what each stage said
// or threw, and the test holds the oracle. A thread, so that the test can time a mutant and give up
// on one that hangs.
import { parentPort } from 'node:worker_threads';
import { validateFiles } from '../../cli/commands/validate.js';
import { readRunInput } from '../../cli/run-input.js';
import { checkFacts } from '../../controller/agent/check-facts.js';
import { BlobRegistry } from '../../controller/blobs.js';
import type { BerthError } from '../../controller/errors.js';
import { targets } from '../../controller/run/apply.js';
import { buildPlan } from '../../controller/run/build-plan.js';
import { secretsPerHost } from '../../controller/run/plan-secrets.js';
import { SERVICES_VAR } from '../../lang/discovery-helpers.js';
import type { HostFacts } from '../../protocol/host-facts.js';

export interface CheckRequest {
  id: number;
  file: string;
}

export interface CheckReport {
  id: number;
  validate: { code?: number; stdout: string; stderr: string; threw?: string };
  /** Only when validate said 0. */
  plan?: { stage: 'input' | 'plan'; errors: BerthError[]; threw?: string; plans: number };
  /** Node's process warnings while checking: printed on the operator's terminal as they are. */
  warnings: string[];
}

/** What a real Debian host says of itself; each host gets its own name. Checked against the schema. */
export function factsFor(host: string): HostFacts {
  const facts: HostFacts = {
    hostname: host,
    os: { id: 'debian', version: '12', name: 'Debian GNU/Linux 12 (bookworm)', family: 'debian' },
    arch: 'x86_64',
    kernel: '6.1.0-18-amd64',
    cpus: 2,
    memoryBytes: 2 * 1024 ** 3,
    disk: { path: '/var/lib/berth', totalBytes: 20e9, freeBytes: 12e9 },
    init: 'systemd',
    user: { name: 'root', uid: 0 },
    node: '20.11.1',
    runtime: { installed: true, engine: 'docker', version: '24.0.7', running: true },
    containers: [],
    images: [],
    time: new Date().toISOString(),
  };
  const checked = checkFacts(facts);
  if (!checked.ok) throw new Error(`the fuzzer's facts are not valid: ${checked.error.message}`);
  return facts;
}

async function validate(file: string): Promise<CheckReport['validate']> {
  let stdout = '';
  let stderr = '';
  const out = process.stdout.write;
  const errw = process.stderr.write;
  process.stdout.write = ((s: string) => ((stdout += s), true)) as typeof process.stdout.write;
  process.stderr.write = ((s: string) => ((stderr += s), true)) as typeof process.stderr.write;
  try {
    return { code: await validateFiles([file]), stdout, stderr };
  } catch (e) {
    return { stdout, stderr, threw: (e as Error)?.stack ?? String(e) };
  } finally {
    process.stdout.write = out;
    process.stderr.write = errw;
  }
}

function plan(file: string): NonNullable<CheckReport['plan']> {
  let stage: 'input' | 'plan' = 'input';
  let plans = 0;
  try {
    const input = readRunInput(file, { forks: '5', extraVars: [] });
    if (!input.ok) return { stage, errors: input.error, plans };
    stage = 'plan';
    const { loaded, inventory, extraVars, secrets } = input.value;
    const blobs = new BlobRegistry();
    const narrow = secretsPerHost(secrets, blobs);
    const pick = targets({ playbook: loaded.doc, inventory });
    const errors: BerthError[] = [];
    // As apply does: the registry's view (empty here) is a run var; the secrets' values are masked.
    const o = {
      playbookPath: loaded.path,
      playbook: loaded.doc,
      where: loaded.where,
      inventory,
      extraVars: { [SERVICES_VAR]: {}, ...extraVars },
      secrets: Object.values(secrets).filter((v) => v.length > 0),
      secretVars: secrets,
      tags: { only: [], skip: [] },
      check: true,
      diff: true,
    };
    loaded.doc.plays.forEach((_, index) => {
      for (const name of pick[index]) {
        const host = inventory.byName.get(name)!;
        const r = buildPlan(o, index, host, factsFor(name), blobs);
        if (!r.ok) errors.push(r.error);
        else {
          // What is sent to the host: secrets narrowed, and it must survive the wire (JSON).
          JSON.stringify(narrow(r.value));
          plans++;
        }
      }
    });
    return { stage, errors, plans };
  } catch (e) {
    return { stage, errors: [], threw: (e as Error)?.stack ?? String(e), plans };
  }
}

let warnings: string[] = [];
process.on('warning', (w) => warnings.push(`${w.name}: ${w.message}`));

parentPort?.on('message', async (req: CheckRequest) => {
  warnings = [];
  const v = await validate(req.file);
  const report: CheckReport = { id: req.id, validate: v, warnings };
  if (v.code === 0 && !v.threw) report.plan = plan(req.file);
  // Warnings are emitted on the next tick.
  await new Promise((resolve) => setImmediate(resolve));
  parentPort!.postMessage(report);
});
