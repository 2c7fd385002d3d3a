import test from 'ava';
import { ManualClock } from '../../src/clock.ts';
import { TimeoutError } from '../../src/errors.ts';
import { teardown, waitFor, withSimulator } from '../helpers.ts';

test('an attempt timeout really aborts the HTTP request, then the retry succeeds', async (t) => {
  const clock = new ManualClock();
  const setup = await withSimulator(
    { faults: { schedule: ['hang'] } },
    { attemptTimeoutMs: 5_000, deadlineMs: 30_000, retry: { maxAttempts: 2, baseDelayMs: 0 } },
    clock,
  );
  try {
    const call = setup.orchestrator.executeAgent('python-expert', 'slow one');
    await waitFor(() => setup.simulator.stats().inFlight === 1, 'the request to hang');
    clock.advance(5_000);
    await waitFor(() => setup.simulator.stats().clientAborts === 1, 'the server to see the client go');
    clock.advance(0); // the zero backoff
    const result = await call;
    t.is(result.attempts, 2);
    t.is(setup.simulator.stats().requests, 2);
  } finally {
    await teardown(setup);
  }
});

test('the overall deadline ends the call with a deadline TimeoutError and cancels the request', async (t) => {
  const clock = new ManualClock();
  const setup = await withSimulator({ faults: { schedule: ['hang'] } }, { attemptTimeoutMs: 60_000, deadlineMs: 2_000 }, clock);
  try {
    const call = setup.orchestrator.executeAgent('python-expert', 'never answered');
    await waitFor(() => setup.simulator.stats().inFlight === 1, 'the request to hang');
    clock.advance(2_000);
    const error = await t.throwsAsync(call);
    t.true(error instanceof TimeoutError);
    t.is((error as TimeoutError).kind, 'deadline');
    await waitFor(() => setup.simulator.stats().clientAborts === 1, 'the server to see the client go');
    t.is(setup.simulator.stats().requests, 1, 'a deadline is not retried');
  } finally {
    await teardown(setup);
  }
});

test("the caller's AbortSignal cancels a call in flight and one still queued", async (t) => {
  const clock = new ManualClock();
  const setup = await withSimulator({ faults: { schedule: ['hang'] } }, { maxConcurrent: 1 }, clock);
  try {
    const controller = new AbortController();
    const inFlight = setup.orchestrator.executeAgent('python-expert', 'first', { signal: controller.signal });
    const queued = setup.orchestrator.executeAgent('python-expert', 'second', { signal: controller.signal });
    await waitFor(() => setup.simulator.stats().inFlight === 1, 'the first request');
    t.is(setup.orchestrator.queued, 1);
    const reason = new Error('user pressed stop');
    controller.abort(reason);
    for (const call of [inFlight, queued]) {
      const error = await t.throwsAsync(call);
      t.is((error as { code?: string }).code, 'AP_ERR_ABORTED');
      t.is(error.cause, reason);
    }
    await waitFor(() => setup.simulator.stats().clientAborts === 1, 'the request to be cancelled');
    t.is(setup.simulator.stats().requests, 1);
    t.is(setup.orchestrator.queued, 0);
  } finally {
    await teardown(setup);
  }
});

// The production path: no caller signal and the system clock, so the attempt timeout is the
// SDK's own per-request timer. These two wait for a real 150 ms timeout: nothing can fake it.
test('with the system clock and no signal, the SDK timeout ends a hung attempt and the retry succeeds', async (t) => {
  const { systemClock } = await import('../../src/clock.ts');
  const setup = await withSimulator(
    { faults: { schedule: ['hang'] } },
    { attemptTimeoutMs: 150, retry: { maxAttempts: 2, baseDelayMs: 0 } },
    systemClock as ManualClock,
  );
  try {
    const result = await setup.orchestrator.executeAgent('python-expert', 'hangs once');
    t.is(result.attempts, 2);
    await waitFor(() => setup.simulator.stats().clientAborts === 1, 'the server to see the client go');
  } finally {
    await teardown(setup);
  }
});

test('with the system clock and no signal, a deadline shorter than the attempt timeout ends the call as a deadline', async (t) => {
  const { systemClock } = await import('../../src/clock.ts');
  const setup = await withSimulator({ faults: { schedule: ['hang'] } }, { attemptTimeoutMs: 10_000, deadlineMs: 150 }, systemClock as ManualClock);
  try {
    const error = await t.throwsAsync(setup.orchestrator.executeAgent('python-expert', 'hangs'));
    t.is((error as TimeoutError).kind, 'deadline');
    await waitFor(() => setup.simulator.stats().clientAborts === 1, 'the server to see the client go');
  } finally {
    await teardown(setup);
  }
});

test('close({ abortInFlight }) cuts off a call without a signal at the socket', async (t) => {
  const { systemClock } = await import('../../src/clock.ts');
  const setup = await withSimulator({ faults: { schedule: ['hang'] } }, {}, systemClock as ManualClock);
  try {
    const call = setup.orchestrator.executeAgent('python-expert', 'hangs');
    await waitFor(() => setup.simulator.stats().inFlight === 1, 'the request to hang');
    await setup.orchestrator.close({ abortInFlight: true });
    t.is(((await t.throwsAsync(call)) as { code?: string }).code, 'AP_ERR_CLOSED');
    await waitFor(() => setup.simulator.stats().clientAborts === 1, 'the server to see the client go');
  } finally {
    await setup.simulator.close();
  }
});
