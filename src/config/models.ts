/**
 * The Claude models agentperf knows: output limit and list prices in USD per million tokens.
 *
 * Sources, read 2026-12-06 (through the documentation index this machine can reach; the
 * machine itself has no network but the npm registry):
 * - the pricing page, https://platform.claude.com/docs/en/about-claude/pricing: the model table
 *   (base input, 5-minute and 1-hour cache writes, cache hits and refreshes, output) for Fable
 *   5.1 and Mythos 5.1 (cache hits $0.25, footnote 1), Fable 5 and Mythos 5, Opus 5 and Opus
 *   4.8 to 4.5, Opus 4.1;
 * - each model's overview page, https://platform.claude.com/docs/<lang>/models/<model>/overview:
 *   Opus 5.5 ($4 / $20, writes $5 / $8, hits $0.20), Sonnet 5.5 and Sonnet 5 ($2 / $10, writes
 *   $2.50 / $4), Haiku 5.5 (by prompt length: up to 100,000 tokens $0.10 / $0.50, writes $0.125
 *   / $0.20; above, $0.50 / $2.50, 5-minute writes $0.625), and "Batch API: 50% discount on
 *   input and output" on every one.
 * Where the text I could read stopped short, the value follows the issue that asked for this
 * table (issue 25) and agrees with several independent price trackers read the same day: Sonnet
 * 5.5 cache hits cut from $0.20 to $0.10 on 2026-10-07 (its overview page as indexed still
 * showed $0.20), and Haiku 5.5's cache hits ($0.01, above 100,000 tokens $0.05) and 1-hour
 * write above 100,000 tokens ($1.00). Models the pages do not list keep the standard
 * multiples: hits 0.1x input, 5-minute writes 1.25x, 1-hour writes 2x.
 *
 * The project config's `models` (prices per model id) is merged over this table; `agentperf
 * models` prints the table in use.
 */
export const PRICES_READ_ON = '2026-12-06';
export const PRICE_SOURCES = [
  'https://platform.claude.com/docs/en/about-claude/pricing',
  'https://platform.claude.com/docs/en/models/<model>/overview',
] as const;
/** The Batch API's discount on input and output, on every model's page: data for later (agentperf sends no batches yet). */
export const BATCH_DISCOUNT = 0.5;

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
  /** Cache hits and refreshes. */
  cacheReadPerMTok: number;
  /** 5-minute cache writes (the default lifetime). */
  cacheWritePerMTok: number;
  /** 1-hour cache writes (`cache_creation.ephemeral_1h_input_tokens`). */
  cacheWrite1hPerMTok: number;
  /**
   * Long-context prices: a request whose prompt (input, cache reads and cache writes together)
   * is larger than `abovePromptTokens` pays the tier's prices for all its tokens, input and
   * output, as Anthropic's pricing pages price long context. The highest tier that applies wins.
   */
  tiers?: ReadonlyArray<{ abovePromptTokens: number; prices: Omit<ModelPrices, 'tiers'> }>;
}

/** A price card: input and output, and the cache prices the pages give (else the standard multiples of input). */
function card(inputPerMTok: number, outputPerMTok: number, cache: { read?: number; write5m?: number; write1h?: number } = {}): ModelPrices {
  return {
    inputPerMTok,
    outputPerMTok,
    cacheReadPerMTok: cache.read ?? inputPerMTok * 0.1,
    cacheWritePerMTok: cache.write5m ?? inputPerMTok * 1.25,
    cacheWrite1hPerMTok: cache.write1h ?? inputPerMTok * 2,
  };
}

const MODEL_LIST: ModelInfo[] = [
  { id: 'claude-opus-5-5', maxOutputTokens: 128_000, acceptsTemperature: false, prices: card(4, 20, { read: 0.2, write5m: 5, write1h: 8 }) },
  { id: 'claude-sonnet-5-5', maxOutputTokens: 128_000, acceptsTemperature: false, prices: card(2, 10, { read: 0.1, write5m: 2.5, write1h: 4 }) },
  {
    id: 'claude-haiku-5-5',
    maxOutputTokens: 128_000,
    acceptsTemperature: false,
    prices: {
      ...card(0.1, 0.5, { read: 0.01, write5m: 0.125, write1h: 0.2 }),
      tiers: [{ abovePromptTokens: 100_000, prices: card(0.5, 2.5, { read: 0.05, write5m: 0.625, write1h: 1 }) }],
    },
  },
  { id: 'claude-fable-5-1', maxOutputTokens: 128_000, acceptsTemperature: false, prices: card(10, 50, { read: 0.25, write5m: 12.5, write1h: 20 }) },
  { id: 'claude-mythos-5-1', maxOutputTokens: 128_000, acceptsTemperature: false, prices: card(10, 50, { read: 0.25, write5m: 12.5, write1h: 20 }) },
  { id: 'claude-fable-5', maxOutputTokens: 128_000, acceptsTemperature: false, prices: card(10, 50, { read: 1, write5m: 12.5, write1h: 20 }) },
  { id: 'claude-mythos-5', maxOutputTokens: 128_000, acceptsTemperature: false, prices: card(10, 50, { read: 1, write5m: 12.5, write1h: 20 }) },
  { id: 'claude-opus-5', maxOutputTokens: 128_000, acceptsTemperature: false, prices: card(5, 25, { read: 0.5, write5m: 6.25, write1h: 10 }) },
  { id: 'claude-sonnet-5', maxOutputTokens: 128_000, acceptsTemperature: false, prices: card(2, 10, { read: 0.2, write5m: 2.5, write1h: 4 }) },
  { id: 'claude-opus-4-8', maxOutputTokens: 128_000, acceptsTemperature: false, prices: card(5, 25, { read: 0.5, write5m: 6.25, write1h: 10 }) },
  { id: 'claude-opus-4-7', maxOutputTokens: 128_000, acceptsTemperature: false, prices: card(5, 25, { read: 0.5, write5m: 6.25, write1h: 10 }) },
  { id: 'claude-opus-4-6', maxOutputTokens: 128_000, acceptsTemperature: true, prices: card(5, 25, { read: 0.5, write5m: 6.25, write1h: 10 }) },
  { id: 'claude-sonnet-4-6', maxOutputTokens: 128_000, acceptsTemperature: true, prices: card(3, 15) },
  { id: 'claude-haiku-4-5', maxOutputTokens: 64_000, acceptsTemperature: true, prices: card(1, 5) },
  { id: 'claude-haiku-4-5-20251001', maxOutputTokens: 64_000, acceptsTemperature: true, prices: card(1, 5) },
  { id: 'claude-opus-4-5', maxOutputTokens: 64_000, acceptsTemperature: true, prices: card(5, 25, { read: 0.5, write5m: 6.25, write1h: 10 }) },
  { id: 'claude-opus-4-5-20251101', maxOutputTokens: 64_000, acceptsTemperature: true, prices: card(5, 25, { read: 0.5, write5m: 6.25, write1h: 10 }) },
  // Retired on the Claude API (the pricing page: "retired, except on Bedrock and Google Cloud").
  {
    id: 'claude-opus-4-1',
    maxOutputTokens: 32_000,
    acceptsTemperature: true,
    prices: card(15, 75, { read: 1.5, write5m: 18.75, write1h: 30 }),
    deprecated: true,
  },
  // Retiring 2026-11-30 (the SDK warns on every call to these).
  { id: 'claude-sonnet-4-5', maxOutputTokens: 64_000, acceptsTemperature: true, prices: card(3, 15), deprecated: true },
  { id: 'claude-sonnet-4-5-20250929', maxOutputTokens: 64_000, acceptsTemperature: true, prices: card(3, 15), deprecated: true },
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

/**
 * A request's list price. `cacheWriteTokens` is every cache write (the API's
 * `cache_creation_input_tokens`); `cacheWrite1hTokens`, the part written for an hour
 * (`cache_creation.ephemeral_1h_input_tokens`), is priced at the 1-hour rate, the rest at the
 * 5-minute one.
 */
export function estimateCostUsd(
  list: ModelPrices,
  usage: { inputTokens: number; outputTokens: number; cacheReadTokens: number; cacheWriteTokens: number; cacheWrite1hTokens?: number },
): number {
  const prices = pricesFor(list, promptTokens(usage));
  const oneHour = Math.min(usage.cacheWrite1hTokens ?? 0, usage.cacheWriteTokens);
  return (
    (usage.inputTokens * prices.inputPerMTok +
      usage.outputTokens * prices.outputPerMTok +
      usage.cacheReadTokens * prices.cacheReadPerMTok +
      (usage.cacheWriteTokens - oneHour) * prices.cacheWritePerMTok +
      oneHour * prices.cacheWrite1hPerMTok) /
    1_000_000
  );
}
