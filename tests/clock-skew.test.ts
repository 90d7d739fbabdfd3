// How the controller judges a host's clock from its agent's hello, and how long it waits for
// that hello. The real thing (a host whose clock is off, an agent that hangs) is in faults.test.ts.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { CLOCK_SKEW_WARN_MS, clockSkew, skewWarning } from '../controller/agent/clock-skew.js';
import { AGENT_HELLO_TIMEOUT_MS, agentHelloTimeoutMs } from '../controller/agent/start-agent.js';

test('the reading is placed between the agent process start and the hello arrival', () => {
  // Spawned at 1000, hello in at 1400, the agent was 300 ms old: read within [1300, 1400].
  const s = clockSkew({ clockMs: 38_350, upMs: 300 }, 1000, 1400)!;
  assert.equal(s, { skewMs: 37_000, uncertaintyMs: 50 });
});

test('without the agent\'s age, the whole window from spawn to hello counts as uncertainty', () => {
  assert.equal(clockSkew({ clockMs: 1200 }, 1000, 1400), { skewMs: 0, uncertaintyMs: 200 });
  // An age longer than the window (a clock that jumped on the host) is ignored, not trusted.
  assert.equal(clockSkew({ clockMs: 1200, upMs: 9999 }, 1000, 1400), { skewMs: 0, uncertaintyMs: 200 });
  assert.is(clockSkew({}, 1000, 1400), undefined, 'an agent that sends no clock: nothing to judge');
});

test('a host 37 s ahead is warned about, in words a person acts on', () => {
  const w = skewWarning('h2', { skewMs: 37_000, uncertaintyMs: 20 })!;
  assert.is(w.code, 'clock.skew');
  assert.is(w.message, "h2's clock is 37 s ahead of this machine's: TTLs, lock expiry and release times will be off");
  assert.match(w.hint, /fix NTP on the host/);
  assert.is(w.skewMs, 37_000);
  assert.match(skewWarning('h3', { skewMs: -2 * 86_400_000, uncertaintyMs: 20 })!.message, /^h3's clock is 2 days behind this machine's/);
  // The hello's transit makes a 2-day skew read a little short: still "2 days", not "48 h".
  const said = (ms: number) => /clock is (.*) (?:ahead|behind)/.exec(skewWarning('h', { skewMs: ms, uncertaintyMs: 0 })!.message)![1];
  assert.is(said(-(2 * 86_400_000 - 4_000)), '2 days');
  assert.is(said(2 * 3_600_000 - 20_000), '2 h');
  assert.is(said(119_600), '2 min');
  assert.is(said(47 * 3_600_000), '47 h');
});

test('skew within the threshold, or not beyond it for certain, is not warned about', () => {
  assert.is(skewWarning('h1', { skewMs: 150, uncertaintyMs: 5 }), undefined);
  assert.is(skewWarning('h1', { skewMs: -CLOCK_SKEW_WARN_MS, uncertaintyMs: 0 }), undefined);
  // 2.5 s off, but the reading could have been taken 1 s later: maybe only 1.5 s.
  assert.is(skewWarning('h1', { skewMs: 2500, uncertaintyMs: 1000 }), undefined);
  assert.ok(skewWarning('h1', { skewMs: 3500, uncertaintyMs: 1000 }));
});

test('the hello deadline: 30 s, or BERTH_AGENT_TIMEOUT as a duration', () => {
  assert.is(AGENT_HELLO_TIMEOUT_MS, 30_000);
  assert.is(agentHelloTimeoutMs({}), 30_000);
  assert.is(agentHelloTimeoutMs({ BERTH_AGENT_TIMEOUT: '2m' }), 120_000);
  assert.is(agentHelloTimeoutMs({ BERTH_AGENT_TIMEOUT: '45' }), 45_000);
  assert.is(agentHelloTimeoutMs({ BERTH_AGENT_TIMEOUT: '500ms' }), 500);
  assert.is(agentHelloTimeoutMs({ BERTH_AGENT_TIMEOUT: 'soon' }), 30_000, 'not a duration: the default');
  assert.is(agentHelloTimeoutMs({ BERTH_AGENT_TIMEOUT: '0' }), 30_000, 'no deadline at all is not offered');
});

test.run();
