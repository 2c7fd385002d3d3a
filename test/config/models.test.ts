import test from 'ava';
import { BATCH_DISCOUNT, estimateCostUsd, MODELS, pricesFor, type ModelPrices } from '../../src/config/models.ts';

// Long-context tiers, checked against the shape and figures of Anthropic's own published
// example (Sonnet 4 with the 1M context: up to 200K prompt tokens $3 in / $15 out per million,
// above that $6 / $22.50 for the whole request).
const sonnet4LongContext: ModelPrices = {
  inputPerMTok: 3,
  outputPerMTok: 15,
  cacheReadPerMTok: 0.3,
  cacheWritePerMTok: 3.75,
  cacheWrite1hPerMTok: 6,
  tiers: [
    { abovePromptTokens: 200_000, prices: { inputPerMTok: 6, outputPerMTok: 22.5, cacheReadPerMTok: 0.6, cacheWritePerMTok: 7.5, cacheWrite1hPerMTok: 12 } },
  ],
};
const usage = (inputTokens: number, outputTokens: number, cacheReadTokens = 0, cacheWriteTokens = 0) => ({
  inputTokens,
  outputTokens,
  cacheReadTokens,
  cacheWriteTokens,
});
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
  const base = { inputPerMTok: 1, outputPerMTok: 1, cacheReadPerMTok: 1, cacheWritePerMTok: 1, cacheWrite1hPerMTok: 1 };
  const at = (n: number) => ({ inputPerMTok: n, outputPerMTok: n, cacheReadPerMTok: n, cacheWritePerMTok: n, cacheWrite1hPerMTok: n });
  const prices: ModelPrices = {
    ...base,
    tiers: [
      { abovePromptTokens: 500_000, prices: at(3) },
      { abovePromptTokens: 100_000, prices: at(2) },
    ],
  };
  t.is(pricesFor(prices, 100_000).inputPerMTok, 1);
  t.is(pricesFor(prices, 100_001).inputPerMTok, 2);
  t.is(pricesFor(prices, 500_001).inputPerMTok, 3);
  t.is(pricesFor(base, 10_000_000).inputPerMTok, 1);
});

// The shipped table against the pages it was read from (src/config/models.ts names them and the date).
test("the shipped prices are the pages': cache hits that are not 0.1x input, 1-hour writes, Haiku 5.5's prompt-length tier", (t) => {
  const price = (id: string) => MODELS.get(id)!.prices;
  t.like(price('claude-fable-5-1'), { inputPerMTok: 10, outputPerMTok: 50, cacheReadPerMTok: 0.25, cacheWritePerMTok: 12.5, cacheWrite1hPerMTok: 20 });
  t.like(price('claude-opus-5-5'), { inputPerMTok: 4, outputPerMTok: 20, cacheReadPerMTok: 0.2, cacheWritePerMTok: 5, cacheWrite1hPerMTok: 8 });
  t.like(price('claude-sonnet-5-5'), { inputPerMTok: 2, outputPerMTok: 10, cacheReadPerMTok: 0.1, cacheWritePerMTok: 2.5, cacheWrite1hPerMTok: 4 });
  t.like(price('claude-fable-5'), { cacheReadPerMTok: 1 });
  t.like(price('claude-opus-4-1'), { inputPerMTok: 15, outputPerMTok: 75, cacheReadPerMTok: 1.5 });
  // Haiku 5.5: 100,000 prompt tokens pay the low band; one more and the whole request pays the high one.
  const haiku = price('claude-haiku-5-5');
  t.true(close(estimateCostUsd(haiku, usage(100_000, 1_000)), 100_000 * 0.1e-6 + 1_000 * 0.5e-6));
  t.true(close(estimateCostUsd(haiku, usage(100_001, 1_000)), 100_001 * 0.5e-6 + 1_000 * 2.5e-6));
  t.true(close(estimateCostUsd(haiku, usage(50_000, 0, 40_000)), 50_000 * 0.1e-6 + 40_000 * 0.01e-6));
  t.is(BATCH_DISCOUNT, 0.5);
});

test('1-hour cache writes are priced at the 1-hour rate, the rest of the writes at the 5-minute one', (t) => {
  const opus = MODELS.get('claude-opus-5-5')!.prices;
  // 10,000 written, 4,000 of them for an hour: 6,000 x $5 + 4,000 x $8 per million.
  t.true(
    close(
      estimateCostUsd(opus, { inputTokens: 0, outputTokens: 0, cacheReadTokens: 0, cacheWriteTokens: 10_000, cacheWrite1hTokens: 4_000 }),
      6_000 * 5e-6 + 4_000 * 8e-6,
    ),
  );
  t.true(close(estimateCostUsd(opus, { inputTokens: 0, outputTokens: 0, cacheReadTokens: 0, cacheWriteTokens: 10_000 }), 10_000 * 5e-6));
});
