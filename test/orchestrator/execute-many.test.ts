import test from 'ava';
import { teardown, withSimulator } from '../helpers.ts';

test('executeMany returns one settled result per item; failures do not cancel the others', async (t) => {
  // One attempt only, so the scheduled faults become failures. Sequential concurrency keeps
  // the schedule aligned with the items.
  const setup = await withSimulator({ faults: { schedule: ['ok', '500', 'ok', '400', 'ok'] } }, { retry: { maxAttempts: 1 }, maxConcurrent: 1 });
  try {
    const settled = await setup.orchestrator.executeMany([
      { agent: 'python-expert', task: 'one' },
      { agent: 'python-expert', task: 'two' },
      { agent: 'nobody', task: 'three' },
      { agent: 'python-expert', task: 'four' },
      { agent: 'python-expert', task: 'five' },
      { agent: 'python-expert', task: 'six' },
    ]);
    t.deepEqual(
      settled.map((s) => s.status),
      ['fulfilled', 'rejected', 'rejected', 'fulfilled', 'rejected', 'fulfilled'],
    );
    const reasons = settled.filter((s) => s.status === 'rejected').map((s) => (s as { reason: { code: string } }).reason.code);
    t.deepEqual(reasons, ['AP_ERR_UPSTREAM', 'AP_ERR_UNKNOWN_AGENT', 'AP_ERR_UPSTREAM']);
    const first = settled[0];
    if (first.status !== 'fulfilled') return t.fail();
    t.is(first.value.agent, 'python-expert');
    t.true(first.value.output.length > 0);
    t.true(first.value.usage.outputTokens > 0);
    t.true(first.value.estimatedCostUsd > 0);
    t.regex(first.value.requestId!, /^req_sim_/);
  } finally {
    await teardown(setup);
  }
});
