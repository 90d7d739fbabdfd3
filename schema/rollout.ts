// How a change reaches a fleet: batches of hosts (Ansible's `serial`), a failure budget, and
// Nomad's health gates. The same block sets a play's rollout and a service's `update:`.
import { Type, type Static } from '@sinclair/typebox';
import { Duration, StringEnum, patterned, shared, strictObject } from './common.js';

// Said of the string form, which is only ever tried for strings: name the number form too.
const percentExpected = 'a number of hosts or a percentage like "30%"';
const BatchSize = Type.Union([Type.Integer({ minimum: 1 }), patterned('\\d{1,3}(?:\\.\\d+)?%', percentExpected)], {
  description: 'Hosts per batch: a count or a percentage of the targeted hosts.',
  expected: 'a number of hosts or a percentage like "30%"',
});

export const Rollout = strictObject(
  {
    serial: Type.Optional(
      Type.Union([Type.Integer({ minimum: 1 }), patterned('\\d{1,3}(?:\\.\\d+)?%', percentExpected), Type.Array(BatchSize, { minItems: 1 })], {
        description: 'Hosts per batch: a count, a percentage, or a list of growing batch sizes (e.g. [1, "25%", "100%"]). Default: all hosts at once.',
        expected: 'a number of hosts, a percentage like "30%", or a list of those',
      }),
    ),
    max_parallel: Type.Optional(Type.Integer({ minimum: 1, description: 'Most hosts (or instances) changed at the same time within a batch.' })),
    max_fail: Type.Optional(Type.Integer({ minimum: 0, description: 'Failed hosts tolerated before the rollout stops (0: stop at the first failure).' })),
    max_fail_percentage: Type.Optional(Type.Number({ minimum: 0, maximum: 100, description: 'Failed hosts tolerated, as a percentage of a batch, before the rollout stops.' })),
    canary: Type.Optional(Type.Integer({ minimum: 0, description: 'Hosts updated first, alone, before any batch; the rollout waits for them to be healthy.' })),
    min_healthy_time: Type.Optional(Duration('How long a new release must stay healthy before it counts as healthy.')),
    healthy_deadline: Type.Optional(Duration('How long a batch may take to become healthy before it counts as failed.')),
    progress_deadline: Type.Optional(Duration('How long the whole rollout may go without a batch becoming healthy.')),
    auto_revert: Type.Optional(Type.Boolean({ description: 'Roll a failed batch back to the previous release.' })),
    auto_promote: Type.Optional(Type.Boolean({ description: 'Continue past healthy canaries without waiting for `berth promote`.' })),
    order: Type.Optional(StringEnum(['start-first', 'stop-first'], { description: 'Start the new container before stopping the old one, or the other way round.' })),
    drain_time: Type.Optional(Duration('How long an instance stays deregistered (draining) before it is stopped.')),
  },
  { title: 'rollout settings', description: 'Batches, failure budget and health gates of a rollout.' },
);
export type Rollout = Static<typeof Rollout>;

const rolloutRef = shared('berth-rollout', Rollout);
export const RolloutRef = (description: string) => rolloutRef({ description });

/** Keys a person from Ansible writes on the play itself; the mapper points them to `rollout:`. */
export const rolloutKeys = Object.keys(Rollout.properties);
