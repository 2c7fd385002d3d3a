import test from 'ava';
import { Cancellation } from '../../src/cancellation.ts';
import { ConcurrencyLimiter } from '../../src/orchestrator/limiter.ts';
import { Orchestrator } from '../../src/orchestrator/orchestrator.ts';
import { ControlledProvider, TEST_AGENTS, waitFor } from '../helpers.ts';

test('500 queued calls never exceed the concurrency bound, and all finish in FIFO order', async (t) => {
  const provider = new ControlledProvider();
  const orchestrator = new Orchestrator({ agents: TEST_AGENTS, provider, maxConcurrent: 10, maxQueued: 1_000 });
  const finished: number[] = [];
  const calls = Array.from({ length: 500 }, (_, i) => orchestrator.executeAgent('python-expert', `task ${i}`).then(() => finished.push(i)));
  let answered = 0;
  while (answered < 500) {
    await waitFor(() => provider.pending.length > 0, 'a pending call');
    t.true(provider.inFlight <= 10);
    t.true(orchestrator.inFlight <= 10);
    provider.answerNext();
    answered++;
  }
  await Promise.all(calls);
  t.is(provider.maxInFlight, 10);
  t.deepEqual(
    finished,
    Array.from({ length: 500 }, (_, i) => i),
  );
});

test('past maxQueued a QueueFullError comes at once', async (t) => {
  const provider = new ControlledProvider();
  const orchestrator = new Orchestrator({ agents: TEST_AGENTS, provider, maxConcurrent: 1, maxQueued: 2 });
  const running = orchestrator.executeAgent('python-expert', 'one');
  const queued = [orchestrator.executeAgent('python-expert', 'two'), orchestrator.executeAgent('python-expert', 'three')];
  const error = await t.throwsAsync(orchestrator.executeAgent('python-expert', 'four'));
  t.is((error as { code?: string }).code, 'AP_ERR_QUEUE_FULL');
  for (let i = 0; i < 3; i++) {
    await waitFor(() => provider.pending.length === 1, 'the next call');
    provider.answerNext();
  }
  await Promise.all([running, ...queued]);
});

test('queueMs reports the wait for a slot', async (t) => {
  const { ManualClock } = await import('../../src/clock.ts');
  const clock = new ManualClock();
  const provider = new ControlledProvider();
  const orchestrator = new Orchestrator({ agents: TEST_AGENTS, provider, maxConcurrent: 1, clock });
  const first = orchestrator.executeAgent('python-expert', 'one');
  const second = orchestrator.executeAgent('python-expert', 'two');
  await waitFor(() => provider.pending.length === 1, 'the first call');
  clock.advance(250);
  provider.answerNext();
  await waitFor(() => provider.pending.length === 1, 'the second call');
  provider.answerNext();
  t.is((await first).queueMs, 0);
  t.is((await second).queueMs, 250);
});

test('a waiter that is cancelled leaves the queue and frees its place', async (t) => {
  const limiter = new ConcurrencyLimiter(1, 1);
  t.true(limiter.tryAcquire());
  const cancellation = new Cancellation();
  const waiting = limiter.acquire(cancellation);
  t.is(limiter.queued, 1);
  cancellation.abort(new Error('gone'));
  await t.throwsAsync(waiting, { message: 'gone' });
  t.is(limiter.queued, 0);
  const next = limiter.acquire();
  limiter.release();
  await next;
  t.is(limiter.inFlight, 1);
});
