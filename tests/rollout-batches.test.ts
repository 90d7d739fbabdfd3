// Rollout batches and the failure budget, rule by rule (controller/run/batches.ts).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { allowedFailures, batchSize, planBatches } from '../controller/run/batches.js';

const hosts = (n: number) => Array.from({ length: n }, (_, i) => `h${i + 1}`);

test('serial as a count cuts the hosts in order; the last batch takes what is left', () => {
  assert.equal(planBatches(hosts(5), { serial: 2 }).batches, [['h1', 'h2'], ['h3', 'h4'], ['h5']]);
  assert.equal(planBatches(hosts(3), { serial: 1 }).batches, [['h1'], ['h2'], ['h3']]);
});

test('serial as a percentage takes the integer part of the share, never less than one host', () => {
  assert.is(batchSize('30%', 10), 3);
  assert.is(batchSize('10%', 5), 1);
  assert.equal(planBatches(hosts(4), { serial: '50%' }).batches, [['h1', 'h2'], ['h3', 'h4']]);
});

test('serial as a list grows batch by batch and repeats its last size', () => {
  assert.equal(planBatches(hosts(7), { serial: [1, 2] }).batches, [['h1'], ['h2', 'h3'], ['h4', 'h5'], ['h6', 'h7']]);
  assert.equal(planBatches(hosts(10), { serial: [1, '20%', '100%'] }).batches, [['h1'], ['h2', 'h3'], ['h4', 'h5', 'h6', 'h7', 'h8', 'h9', 'h10']]);
});

test('a canary batch comes first, alone; the rest follows the serial', () => {
  const p = planBatches(hosts(5), { canary: 1, serial: 2 });
  assert.ok(p.canary);
  assert.equal(p.batches, [['h1'], ['h2', 'h3'], ['h4', 'h5']]);
  assert.equal(planBatches(hosts(3), { canary: 1 }).batches, [['h1'], ['h2', 'h3']]);
  assert.not.ok(planBatches(hosts(3), { serial: 1 }).canary);
});

test('no serial: one batch of every host', () => {
  assert.equal(planBatches(hosts(3), { auto_revert: true }).batches, [['h1', 'h2', 'h3']]);
});

test('the failure budget is across the whole run: max_fail wins, then a share of all hosts, else none', () => {
  assert.is(allowedFailures({ max_fail: 2, max_fail_percentage: 90 }, 10), 2);
  assert.is(allowedFailures({ max_fail_percentage: 34 }, 3), 1);
  assert.is(allowedFailures({ max_fail_percentage: 30 }, 3), 0);
  assert.is(allowedFailures({}, 10), 0);
});

test.run();
