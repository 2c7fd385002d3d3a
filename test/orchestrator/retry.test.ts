import test from 'ava';
import { backoffDelayMs, DEFAULT_RETRY_POLICY, isRetryable } from '../../src/orchestrator/retry.ts';
import type { FaultType } from '../../src/providers/simulator/faults.ts';
import { parseRetryAfterMs } from '../../src/providers/retry-after.ts';
import { TimeoutError, UpstreamError } from '../../src/errors.ts';
import { teardown, withSimulator } from '../helpers.ts';

// Which faults retry: two failures then a clean answer. Retryable ones succeed on attempt 3.
const table: Array<{ fault: FaultType; retries: boolean; code?: string }> = [
  { fault: '408', retries: true },
  { fault: '409', retries: true },
  { fault: '429', retries: true },
  { fault: '500', retries: true },
  { fault: '529', retries: true },
  { fault: 'reset', retries: true },
  { fault: 'malformed', retries: true },
  { fault: '400', retries: false, code: 'AP_ERR_UPSTREAM' },
  { fault: '401', retries: false, code: 'AP_ERR_UPSTREAM' },
  { fault: '403', retries: false, code: 'AP_ERR_UPSTREAM' },
  { fault: '404', retries: false, code: 'AP_ERR_UPSTREAM' },
  { fault: '413', retries: false, code: 'AP_ERR_UPSTREAM' },
  { fault: '422', retries: false, code: 'AP_ERR_UPSTREAM' },
];

for (const row of table) {
  test(`fault ${row.fault} ${row.retries ? 'is retried' : 'is not retried'}`, async (t) => {
    const setup = await withSimulator({ faults: { schedule: [row.fault, row.fault], retryAfterMs: 10 } });
    try {
      if (row.retries) {
        const result = await setup.orchestrator.executeAgent('python-expert', `retry ${row.fault}`);
        t.is(result.attempts, 3);
        t.is(setup.simulator.stats().requests, 3);
        t.is(setup.orchestrator.stats().retries, 2);
      } else {
        const error = await t.throwsAsync(setup.orchestrator.executeAgent('python-expert', `no retry ${row.fault}`));
        t.is<string, string>((error as UpstreamError).code, row.code!);
        t.is((error as UpstreamError).status, Number(row.fault));
        t.is(setup.simulator.stats().requests, 1);
      }
    } finally {
      await teardown(setup);
    }
  });
}

test('attempts are bounded: three 529s exhaust the default of 3 attempts', async (t) => {
  const setup = await withSimulator({ faults: { schedule: ['529', '529', '529', '529'] } });
  try {
    const error = await t.throwsAsync(setup.orchestrator.executeAgent('python-expert', 'always overloaded'));
    t.is((error as UpstreamError).errorType, 'overloaded_error');
    t.is(setup.simulator.stats().requests, 3);
  } finally {
    await teardown(setup);
  }
});

test('retry-after from a 429 is honoured instead of the backoff', async (t) => {
  const setup = await withSimulator({ faults: { schedule: ['429'], retryAfterMs: 1_500 } });
  try {
    const result = await setup.orchestrator.executeAgent('python-expert', 'rate limited');
    t.is(result.attempts, 2);
    t.deepEqual(setup.clock.sleeps, [1_500]);
  } finally {
    await teardown(setup);
  }
});

test('a retry-after beyond the deadline fails at once with the 429', async (t) => {
  const setup = await withSimulator({ faults: { schedule: ['429'], retryAfterMs: 60_000 } }, { deadlineMs: 5_000 });
  try {
    const error = await t.throwsAsync(setup.orchestrator.executeAgent('python-expert', 'long wait'));
    t.is((error as UpstreamError).status, 429);
    t.deepEqual(setup.clock.sleeps, []);
  } finally {
    await teardown(setup);
  }
});

test('backoff is full jitter under an exponential, capped ceiling', (t) => {
  const policy = { ...DEFAULT_RETRY_POLICY, baseDelayMs: 100, maxDelayMs: 1_000 };
  t.is(
    backoffDelayMs(policy, 1, () => 0.999999),
    99.9999,
  );
  t.is(
    backoffDelayMs(policy, 3, () => 0.5),
    200,
  );
  t.is(
    backoffDelayMs(policy, 10, () => 0.5),
    500,
  );
  t.is(
    backoffDelayMs(policy, 2, () => 0),
    0,
  );
});

test('retryability: statuses, connection errors and attempt timeouts', (t) => {
  const upstream = (status?: number) => new UpstreamError({ status, errorType: 'x', message: 'x' });
  t.true(isRetryable(upstream(undefined)));
  t.true(isRetryable(upstream(503)));
  t.false(isRetryable(upstream(422)));
  t.true(isRetryable(new TimeoutError('attempt', 1)));
  t.false(isRetryable(new TimeoutError('deadline', 1)));
  t.false(isRetryable(new Error('x')));
});

test('retry-after headers: milliseconds first, then seconds, then an HTTP date', (t) => {
  const headers = (h: Record<string, string>) => (name: string) => h[name];
  t.is(parseRetryAfterMs(headers({ 'retry-after-ms': '250', 'retry-after': '9' })), 250);
  t.is(parseRetryAfterMs(headers({ 'retry-after': '2' })), 2_000);
  t.is(parseRetryAfterMs(headers({ 'retry-after': 'Wed, 21 Oct 2015 07:28:05 GMT' }), Date.parse('Wed, 21 Oct 2015 07:28:00 GMT')), 5_000);
  t.is(parseRetryAfterMs(headers({ 'retry-after': 'soon' })), undefined);
  t.is(parseRetryAfterMs(headers({})), undefined);
});
