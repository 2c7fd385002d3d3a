import test from 'ava';
import { ManualClock } from '../../src/clock.ts';
import { teardown, waitFor, withSimulator } from '../helpers.ts';

test('N identical concurrent calls make one upstream request', async (t) => {
  const setup = await withSimulator({ latency: { model: { kind: 'fixed', ms: 20 }, perOutputTokenMs: 0 } });
  try {
    const results = await Promise.all(Array.from({ length: 25 }, () => setup.orchestrator.executeAgent('python-expert', 'the same question')));
    t.is(setup.simulator.stats().requests, 1);
    t.is(new Set(results.map((r) => r.output)).size, 1);
    t.is(results.filter((r) => !r.coalesced).length, 1);
    t.is(setup.orchestrator.stats().coalesced, 24);
    // Different tasks are not coalesced.
    await Promise.all([setup.orchestrator.executeAgent('python-expert', 'x'), setup.orchestrator.executeAgent('python-expert', 'y')]);
    t.is(setup.simulator.stats().requests, 3);
  } finally {
    await teardown(setup);
  }
});

test('one caller leaving early does not cancel the shared call; the last one leaving does', async (t) => {
  const setup = await withSimulator({ faults: { schedule: ['hang', 'hang'] } }, {}, new ManualClock());
  try {
    const a = new AbortController();
    const b = new AbortController();
    const first = setup.orchestrator.executeAgent('python-expert', 'shared', { signal: a.signal });
    const second = setup.orchestrator.executeAgent('python-expert', 'shared', { signal: b.signal });
    await waitFor(() => setup.simulator.stats().inFlight === 1, 'the shared request to reach the simulator');
    a.abort();
    t.is(((await t.throwsAsync(first)) as { code?: string }).code, 'AP_ERR_ABORTED');
    t.is(setup.simulator.stats().clientAborts, 0);
    b.abort();
    const error = await t.throwsAsync(second);
    t.is((error as { code?: string }).code, 'AP_ERR_ABORTED');
    await waitFor(() => setup.simulator.stats().clientAborts === 1, 'the request to be cancelled');
    t.is(setup.simulator.stats().requests, 1);
  } finally {
    await teardown(setup);
  }
});
