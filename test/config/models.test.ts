import test from 'ava';
import { estimateCostUsd, pricesFor, type ModelPrices } from '../../src/config/models.ts';

// Long-context tiers, checked against the shape and figures of Anthropic's own published
// example (Sonnet 4 with the 1M context: up to 200K prompt tokens $3 in / $15 out per million,
// above that $6 / $22.50 for the whole request).
const sonnet4LongContext: ModelPrices = {
  inputPerMTok: 3,
  outputPerMTok: 15,
  cacheReadPerMTok: 0.3,
  cacheWritePerMTok: 3.75,
  tiers: [{ abovePromptTokens: 200_000, prices: { inputPerMTok: 6, outputPerMTok: 22.5, cacheReadPerMTok: 0.6, cacheWritePerMTok: 7.5 } }],
};
const usage = (inputTokens: number, outputTokens: number, cacheReadTokens = 0, cacheWriteTokens = 0) => ({ inputTokens, outputTokens, cacheReadTokens, cacheWriteTokens });
const close = (a: number, b: number) => Math.abs(a - b) < 1e-9;

test('a request at the threshold pays the base prices; one above it pays the tier for all its tokens', (t) => {
  t.true(close(estimateCostUsd(sonnet4LongContext, usage(200_000, 10_000)), 0.6 + 0.15));
  t.true(close(estimateCostUsd(sonnet4LongContext, usage(250_000, 10_000)), 1.5 + 0.225));
});

test('cache reads and writes count toward the prompt size that picks the tier, and are priced by it', (t) => {
  // 150K input + 60K cache read = 210K prompt tokens: the long-context tier.
  t.true(close(estimateCostUsd(sonnet4LongContext, usage(150_000, 0, 60_000)), 150_000 * 6e-6 + 60_000 * 0.6e-6));
  t.true(close(estimateCostUsd(sonnet4LongContext, usage(150_000, 0, 0, 49_999)), 150_000 * 3e-6 + 49_999 * 3.75e-6));
});

test('the highest tier that applies wins, whatever order the tiers are listed in; no tiers means the list prices', (t) => {
  const base = { inputPerMTok: 1, outputPerMTok: 1, cacheReadPerMTok: 1, cacheWritePerMTok: 1 };
  const at = (n: number) => ({ inputPerMTok: n, outputPerMTok: n, cacheReadPerMTok: n, cacheWritePerMTok: n });
  const prices: ModelPrices = { ...base, tiers: [{ abovePromptTokens: 500_000, prices: at(3) }, { abovePromptTokens: 100_000, prices: at(2) }] };
  t.is(pricesFor(prices, 100_000).inputPerMTok, 1);
  t.is(pricesFor(prices, 100_001).inputPerMTok, 2);
  t.is(pricesFor(prices, 500_001).inputPerMTok, 3);
  t.is(pricesFor(base, 10_000_000).inputPerMTok, 1);
});
