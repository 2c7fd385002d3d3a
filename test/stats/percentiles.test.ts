import test from 'ava';
import { estimateCostUsd, MODELS } from '../../src/config/models.ts';
import { median, percentile, summarize } from '../../src/stats/percentiles.ts';

test('nearest-rank percentiles against worked values', (t) => {
  const data = [15, 20, 35, 40, 50]; // the Wikipedia "Percentile" nearest-rank example
  t.is(percentile(data, 5), 15);
  t.is(percentile(data, 30), 20);
  t.is(percentile(data, 40), 20);
  t.is(percentile(data, 50), 35);
  t.is(percentile(data, 100), 50);
  t.true(Number.isNaN(percentile([], 50)));
  // 99.9% of 20,000 is rank 19,980 exactly, though the float product is 19980.000000000004.
  const many = Array.from({ length: 20_000 }, (_, i) => i + 1);
  t.is(percentile(many, 99.9), 19_980);
  t.is(percentile(many, 99.99), 19_998);
  t.is(median([3, 1, 2, 4]), 2.5);
  const s = summarize(Array.from({ length: 100 }, (_, i) => i + 1));
  t.deepEqual([s.p50, s.p90, s.p95, s.p99, s.max, s.mean], [50, 90, 95, 99, 100, 50.5]);
});

test('cost estimate from the price table', (t) => {
  const prices = MODELS.get('claude-sonnet-5-5')!.prices; // $2 in, $10 out per MTok
  t.is(estimateCostUsd(prices, { inputTokens: 1_000_000, outputTokens: 0, cacheReadTokens: 0, cacheWriteTokens: 0 }), 2);
  t.is(estimateCostUsd(prices, { inputTokens: 0, outputTokens: 500_000, cacheReadTokens: 0, cacheWriteTokens: 0 }), 5);
  // Sonnet 5.5's cache hits are $0.10 since the cut of 2026-10-07 (src/config/models.ts), its 5-minute writes $2.50.
  t.is(estimateCostUsd(prices, { inputTokens: 0, outputTokens: 0, cacheReadTokens: 1_000_000, cacheWriteTokens: 1_000_000 }), 0.1 + 2.5);
});
