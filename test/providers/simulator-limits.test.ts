// The simulator's organisation limits: token buckets per minute (exact on an injected clock),
// 429 with retry-after and the anthropic-ratelimit-* headers as the real SDK reads them, 529
// past the capacity, and the orchestrator waiting what retry-after says.
import test from 'ava';
import Anthropic from '@anthropic-ai/sdk';
import { ErrorCode } from '../../src/errors.ts';
import { RateLimitBuckets, parseLimits } from '../../src/providers/simulator/limits.ts';
import { startSimulator } from '../../src/providers/simulator/server.ts';
import { createAnthropicProvider } from '../../src/providers/anthropic.ts';
import { openStack } from '../../src/stack.ts';
import { TEST_AGENTS } from '../helpers.ts';

const PARAMS = { model: 'claude-sonnet-5-5', max_tokens: 100, messages: [{ role: 'user' as const, content: 'limits' }] };

test('limits parse as NAME=N per minute; anything else is refused naming the rule', (t) => {
  t.deepEqual(parseLimits('rpm=50,itpm=40000,otpm=8000'), { rpm: 50, itpm: 40_000, otpm: 8_000 });
  t.deepEqual(parseLimits('otpm=10'), { otpm: 10 });
  for (const [spec, message] of [
    ['rpm=0', /rpm must be a whole number per minute from 1/],
    ['rpm=1.5', /rpm must be a whole number/],
    ['tpm=5', /NAME one of rpm, itpm, otpm, got "tpm=5"/],
    ['rpm', /NAME=N/],
    ['', /at least one of rpm, itpm, otpm/],
  ] as const) {
    const error = t.throws(() => parseLimits(spec));
    t.is((error as { code?: string }).code, ErrorCode.USAGE);
    t.regex(error.message, message, spec);
  }
});

test('the buckets refill continuously: 60 requests a minute admit 60 at once, then one a second; retry-after and the headers say exactly when', (t) => {
  let now = Date.parse('2026-12-06T12:00:00Z');
  const buckets = new RateLimitBuckets({ rpm: 60, itpm: 1_000, otpm: 600 }, () => now);
  for (let i = 0; i < 60; i++) t.true(buckets.admit(1, 1).ok, `request ${i + 1}`);
  const refused = buckets.admit(1, 1);
  t.false(refused.ok);
  if (refused.ok) return;
  t.is(refused.limit, 'rpm');
  t.is(refused.retryAfterS, 1);
  t.is(refused.headers['retry-after'], '1');
  t.is(refused.headers['anthropic-ratelimit-requests-remaining'], '0');
  t.is(refused.headers['anthropic-ratelimit-requests-reset'], '2026-12-06T12:01:00Z', 'full again after a minute');
  t.is(refused.headers['anthropic-ratelimit-input-tokens-remaining'], '940');
  t.is(refused.headers['anthropic-ratelimit-output-tokens-remaining'], '540');
  // The tighter of input (94%) and output (90%) left.
  t.is(refused.headers['anthropic-ratelimit-tokens-limit'], '600');
  t.is(refused.headers['anthropic-ratelimit-tokens-remaining'], '540');
  now += 999;
  t.false(buckets.admit(1, 1).ok, 'not yet: 0.999 of a request');
  now += 1;
  const admitted = buckets.admit(1, 1);
  t.true(admitted.ok, 'a second later, one more');
  t.is(admitted.headers['anthropic-ratelimit-requests-limit'], '60');
  // A second on: one request again, and 559 output tokens of 600 (549 + 10); a 570-token answer
  // waits for 11 more (1.1 s: retry-after rounds up to 2).
  now += 1_000;
  const big = buckets.admit(1, 570);
  t.false(big.ok);
  if (!big.ok) {
    t.is(big.limit, 'otpm');
    t.is(big.retryAfterS, 2);
    t.regex(big.message, /600 output tokens per minute/);
  }
  // More than a bucket holds can never pass: retry-after says a minute.
  const never = buckets.admit(2_000, 1);
  t.false(never.ok);
  if (!never.ok) t.like(never, { limit: 'itpm', retryAfterS: 60 });
});

test('over real HTTP through the real SDK: 429 rate_limit_error with retry-after and the anthropic-ratelimit headers past the limit, every answer carrying them; 529 past the capacity', async (t) => {
  const limited = await startSimulator({ limits: { rpm: 3 } });
  const client = new Anthropic({ apiKey: 'k', baseURL: limited.url, maxRetries: 0 });
  try {
    for (let i = 0; i < 3; i++) {
      const { response } = await client.messages.create(PARAMS).withResponse();
      t.is(response.headers.get('anthropic-ratelimit-requests-remaining'), String(2 - i));
      t.is(response.headers.get('anthropic-ratelimit-requests-limit'), '3');
    }
    const error = await t.throwsAsync(client.messages.create(PARAMS));
    t.true(error instanceof Anthropic.RateLimitError);
    const limitError = error as InstanceType<typeof Anthropic.RateLimitError>;
    t.is(limitError.status, 429);
    t.is(limitError.headers?.get('retry-after'), '20', 'one request of 3 a minute: 20 s');
    t.is(limitError.headers?.get('anthropic-ratelimit-requests-remaining'), '0');
    t.like(limitError.error, { type: 'error', error: { type: 'rate_limit_error' } });
    t.like(limited.stats(), { admitted: 3, refused: { rpm: 1, itpm: 0, otpm: 0, capacity: 0 }, responsesByStatus: { 200: 3, 429: 1 } });
  } finally {
    await limited.close();
  }

  const small = await startSimulator({ capacity: 2, latency: { model: { kind: 'fixed', ms: 300 }, perOutputTokenMs: 0 } });
  const smallClient = new Anthropic({ apiKey: 'k', baseURL: small.url, maxRetries: 0 });
  try {
    const outcomes = await Promise.allSettled([0, 1, 2, 3].map(() => smallClient.messages.create(PARAMS)));
    const overloaded = outcomes.filter((o) => o.status === 'rejected' && (o.reason as { status?: number }).status === 529);
    t.is(outcomes.filter((o) => o.status === 'fulfilled').length, 2);
    t.is(overloaded.length, 2);
    t.like((overloaded[0] as PromiseRejectedResult).reason, { error: { error: { type: 'overloaded_error' } } });
    t.like(small.stats().refused, { capacity: 2 });
  } finally {
    await small.close();
  }
});

test("the orchestrator on a limited simulator: a burst past the limit is retried after the simulator's retry-after (never sooner), and every call answers", async (t) => {
  const simulator = await startSimulator({ limits: { rpm: 60 } });
  const stack = await openStack({
    agents: TEST_AGENTS,
    provider: { kind: 'given', provider: createAnthropicProvider({ apiKey: 'k', baseURL: simulator.url }) },
    cache: { kind: 'none' },
    orchestrator: { maxConcurrent: 16 },
  });
  try {
    // 60 a minute: the first 60 at once; the other 2 are told to retry after 1 s, together: one
    // gets in, the other is told again and gets in a second later, on its third and last attempt
    // (a third one past the bucket would fail: they all retry at the same moment).
    const results = await Promise.all(Array.from({ length: 62 }, (_, i) => stack.orchestrator.executeAgent(TEST_AGENTS[0].name, `burst ${i}`)));
    t.is(results.length, 62);
    const { refused, admitted } = simulator.stats();
    t.true(refused.rpm >= 1, JSON.stringify(refused));
    t.is(admitted, 62, 'each call admitted once in the end');
    const retried = results.filter((r) => r.attempts > 1);
    t.true(retried.length >= 1);
    for (const r of retried) t.true(r.latencyMs >= 1_000, `a retried call answered after ${r.latencyMs.toFixed(0)} ms: it waited the retry-after of 1 s`);
  } finally {
    await stack.close();
    await simulator.close();
  }
});
