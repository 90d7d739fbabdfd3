// The agent's task modules for services. They are planned by the controller from a play's
// `services:` (controller/services/), never written in a playbook, so they stay out of the
// public module registry (and out of the playbook schema).
import type { BerthModule } from '../../modules/contract.js';
import { converge } from './converge.js';
import { prune } from './prune.js';
import { network, volume } from './resources.js';
import { restart } from './restart.js';
import { revert } from './revert.js';
import { runJob } from './run-job.js';

export const serviceModules: Record<string, BerthModule> = {
  [converge.name]: converge,
  [network.name]: network,
  [volume.name]: volume,
  [prune.name]: prune,
  [restart.name]: restart,
  [runJob.name]: runJob,
  [revert.name]: revert,
} as Record<string, BerthModule>;
