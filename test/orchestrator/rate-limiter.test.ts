import test from 'ava';
import { Cancellation } from '../../src/cancellation.ts';
import { ManualClock } from '../../src/clock.ts';
import { ModelRateLimiter, TokenBucket } from '../../src/orchestrator/rate-limiter.ts';
import { Orchestrator } from '../../src/orchestrator/orchestrator.ts';
import { ControlledProvider, TEST_AGENTS, waitFor } from '../helpers.ts';

test('a token bucket refills continuously and says how long to wait', (t) => {
  const clock = new ManualClock();
  const bucket = new TokenBucket(60, 60_000, clock); // one token a second
  for (let i = 0; i < 60; i++) t.is(bucket.take(1), 0);
  t.is(bucket.take(1), 1_000);
  clock.advance(500);
  t.is(bucket.take(1), 500);
  clock.advance(500);
  t.is(bucket.take(1), 0);
});

test('requests per minute: a burst waits instead of going out', async (t) => {
  const clock = new ManualClock({ autoAdvanceSleeps: true });
  const limiter = new ModelRateLimiter({ requestsPerMinute: 120 }, clock);
  for (let i = 0; i < 125; i++) await limiter.acquire(1, new Cancellation());
  // 120 at once, then one every 500 ms.
  t.deepEqual(clock.sleeps, [500, 500, 500, 500, 500]);
});

test('tokens per minute counts the estimated tokens of each request', async (t) => {
  const clock = new ManualClock({ autoAdvanceSleeps: true });
  const limiter = new ModelRateLimiter({ tokensPerMinute: 6_000 }, clock);
  await limiter.acquire(6_000, new Cancellation());
  await limiter.acquire(3_000, new Cancellation());
  t.deepEqual(clock.sleeps, [30_000]);
});

test('the orchestrator holds a burst to the configured rate', async (t) => {
  const clock = new ManualClock();
  const provider = new ControlledProvider();
  const orchestrator = new Orchestrator({
    agents: TEST_AGENTS,
    provider,
    clock,
    rateLimits: { 'claude-sonnet-5-5': { requestsPerMinute: 2 } },
    deadlineMs: 120_000,
    attemptTimeoutMs: 120_000,
  });
  const calls = ['a', 'b', 'c'].map((task) => orchestrator.executeAgent('python-expert', task));
  await waitFor(() => provider.calls === 2, 'two calls');
  t.is(provider.calls, 2);
  clock.advance(29_999);
  for (let i = 0; i < 100; i++) await new Promise((r) => setImmediate(r));
  t.is(provider.calls, 2, 'the third waits for its token');
  clock.advance(1);
  await waitFor(() => provider.calls === 3, 'the third call');
  for (let i = 0; i < 3; i++) provider.answerNext();
  await Promise.all(calls);
});
