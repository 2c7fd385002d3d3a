/** What a call gives back (whole or streamed; AgentStream adds to it). */
export interface TokenUsage {
  inputTokens: number;
  outputTokens: number;
  cacheReadTokens: number;
  /** Every cache write (5-minute and 1-hour). */
  cacheWriteTokens: number;
  /** The part of the cache writes made for an hour (`cache_creation.ephemeral_1h_input_tokens`), priced at the 1-hour rate. */
  cacheWrite1hTokens: number;
}

export interface AgentResult {
  agent: string;
  output: string;
  model: string;
  stopReason: string | null;
  usage: TokenUsage;
  estimatedCostUsd: number;
  /** From the call to its result, queue wait included. */
  latencyMs: number;
  /** Time spent waiting for a concurrency slot. */
  queueMs: number;
  /** Upstream attempts made (0 when answered without one). */
  attempts: number;
  /** True when answered from the response cache (nothing was spent: estimatedCostUsd is 0). */
  cached: boolean;
  cacheTier: string | undefined;
  /** True when this call shared an identical call already in flight. */
  coalesced: boolean;
  requestId: string | undefined;
}
