/**
 * The Claude models agentperf knows: output limit and list prices in USD per million tokens.
 *
 * Source: the Claude models overview (platform.claude.com/docs, models & pricing), read
 * 2026-11. Cache reads are priced at 0.1x input and 5-minute cache writes at 1.25x input, as
 * the pricing page states. Override any of it with `modelPrices` in the orchestrator options.
 *
 * NOT VERIFIED (issue 18, 2026-11-30): Anthropic's models and pricing pages cannot be reached
 * from the machine this was written on (no network but the npm registry), so the three
 * differences the issue names are not applied: the claude-fable-5-1 cache-read price, a
 * claude-fable-5-2 entry, and claude-haiku-5-5's higher price above 100K prompt tokens. The
 * table has the place for such a price (`tiers`) and the estimate applies it; the values wait
 * for someone who can read the pages.
 */
export interface ModelInfo {
  id: string;
  maxOutputTokens: number;
  /** USD per million tokens. */
  prices: ModelPrices;
  /**
   * Opus 4.7 and later and the whole 5 generation reject `temperature` with a 400
   * ("`temperature` is deprecated for this model"); for those it is never sent.
   */
  acceptsTemperature: boolean;
  /** Set when Anthropic has announced retirement; defaults never use these. */
  deprecated?: boolean;
}

export interface ModelPrices {
  inputPerMTok: number;
  outputPerMTok: number;
  cacheReadPerMTok: number;
  cacheWritePerMTok: number;
  /**
   * Long-context prices: a request whose prompt (input, cache reads and cache writes together)
   * is larger than `abovePromptTokens` pays the tier's prices for all its tokens, input and
   * output, as Anthropic's pricing pages price long context. The highest tier that applies wins.
   */
  tiers?: ReadonlyArray<{ abovePromptTokens: number; prices: Omit<ModelPrices, 'tiers'> }>;
}

function priced(inputPerMTok: number, outputPerMTok: number): ModelPrices {
  return { inputPerMTok, outputPerMTok, cacheReadPerMTok: inputPerMTok * 0.1, cacheWritePerMTok: inputPerMTok * 1.25 };
}

const MODEL_LIST: ModelInfo[] = [
  { id: 'claude-opus-5-5', maxOutputTokens: 128_000, acceptsTemperature: false, prices: priced(4, 20) },
  { id: 'claude-sonnet-5-5', maxOutputTokens: 128_000, acceptsTemperature: false, prices: priced(2, 10) },
  { id: 'claude-haiku-5-5', maxOutputTokens: 128_000, acceptsTemperature: false, prices: priced(0.1, 0.5) },
  { id: 'claude-fable-5-1', maxOutputTokens: 128_000, acceptsTemperature: false, prices: priced(10, 50) },
  { id: 'claude-opus-5', maxOutputTokens: 128_000, acceptsTemperature: false, prices: priced(5, 25) },
  { id: 'claude-sonnet-5', maxOutputTokens: 128_000, acceptsTemperature: false, prices: priced(2, 10) },
  { id: 'claude-opus-4-8', maxOutputTokens: 128_000, acceptsTemperature: false, prices: priced(5, 25) },
  { id: 'claude-opus-4-7', maxOutputTokens: 128_000, acceptsTemperature: false, prices: priced(5, 25) },
  { id: 'claude-opus-4-6', maxOutputTokens: 128_000, acceptsTemperature: true, prices: priced(5, 25) },
  { id: 'claude-sonnet-4-6', maxOutputTokens: 128_000, acceptsTemperature: true, prices: priced(3, 15) },
  { id: 'claude-haiku-4-5', maxOutputTokens: 64_000, acceptsTemperature: true, prices: priced(1, 5) },
  { id: 'claude-haiku-4-5-20251001', maxOutputTokens: 64_000, acceptsTemperature: true, prices: priced(1, 5) },
  { id: 'claude-opus-4-5', maxOutputTokens: 64_000, acceptsTemperature: true, prices: priced(5, 25) },
  { id: 'claude-opus-4-5-20251101', maxOutputTokens: 64_000, acceptsTemperature: true, prices: priced(5, 25) },
  // Retiring 2026-11-30 (the SDK warns on every call to these).
  { id: 'claude-sonnet-4-5', maxOutputTokens: 64_000, acceptsTemperature: true, prices: priced(3, 15), deprecated: true },
  { id: 'claude-sonnet-4-5-20250929', maxOutputTokens: 64_000, acceptsTemperature: true, prices: priced(3, 15), deprecated: true },
];

export const MODELS: ReadonlyMap<string, ModelInfo> = new Map(MODEL_LIST.map((m) => [m.id, m]));
export const MODEL_IDS: readonly string[] = MODEL_LIST.map((m) => m.id);

/** The prices one request pays: its tier's when its prompt is above a tier's threshold. */
export function pricesFor(prices: ModelPrices, promptTokens: number): Omit<ModelPrices, 'tiers'> {
  let chosen: Omit<ModelPrices, 'tiers'> = prices;
  let threshold = -1;
  for (const tier of prices.tiers ?? []) {
    if (promptTokens > tier.abovePromptTokens && tier.abovePromptTokens > threshold) {
      chosen = tier.prices;
      threshold = tier.abovePromptTokens;
    }
  }
  return chosen;
}

/** A request's prompt size: input tokens, cache reads and cache writes together (what the API prices tiers by, and what the GenAI conventions count as input). */
export function promptTokens(usage: { inputTokens: number; cacheReadTokens?: number; cacheWriteTokens?: number }): number {
  return usage.inputTokens + (usage.cacheReadTokens ?? 0) + (usage.cacheWriteTokens ?? 0);
}

export function estimateCostUsd(
  list: ModelPrices,
  usage: { inputTokens: number; outputTokens: number; cacheReadTokens: number; cacheWriteTokens: number },
): number {
  const prices = pricesFor(list, promptTokens(usage));
  return (
    (usage.inputTokens * prices.inputPerMTok +
      usage.outputTokens * prices.outputPerMTok +
      usage.cacheReadTokens * prices.cacheReadPerMTok +
      usage.cacheWriteTokens * prices.cacheWritePerMTok) /
    1_000_000
  );
}
