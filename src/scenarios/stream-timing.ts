import { performance } from 'node:perf_hooks';
import type { StreamedIteration } from '../load/engine.js';
import type { StreamEvent } from '../providers/types.js';

export type { StreamedIteration };

/**
 * Reads a stream of Messages API events to its end and says how it went, in the form the load
 * engine measures: a streaming scenario's iteration returns `timeStream(stream)`. The first
 * output chunk is the first `content_block_delta` (as the SDK's own span and executeAgentStream
 * count it); a stream with none has its first chunk at its end. Output tokens per second are
 * left out for an answer replayed from the cache. Works on executeAgentStream's AgentStream,
 * the SDK's own stream (`messages.create({ stream: true })`) and serve's stream route read with
 * `serverSentEvents`.
 */
export async function timeStream(events: AsyncIterable<StreamEvent>): Promise<StreamedIteration> {
  let firstChunkAt: number | undefined;
  let last = 0;
  const chunkGapsMs: number[] = [];
  let outputTokens: number | undefined;
  let cached = false;
  for await (const event of events) {
    if (event.type === 'content_block_delta') {
      const now = performance.now();
      if (firstChunkAt === undefined) firstChunkAt = now;
      else chunkGapsMs.push(now - last);
      last = now;
    } else if (event.type === 'message_delta') outputTokens = event.usage.output_tokens;
    // serve's stream route ends with the call's result.
    else if ((event as { type: string }).type === 'agentperf.result') cached = (event as unknown as { result?: { cached?: boolean } }).result?.cached === true;
  }
  // executeAgentStream's stream says itself whether it was a replay.
  const result = (events as { result?: Promise<{ cached: boolean }> }).result;
  if (result) cached = (await result).cached;
  if (firstChunkAt === undefined) return { firstChunkAt: performance.now(), chunkGapsMs };
  const streamingMs = last - firstChunkAt;
  // A replay from the cache generates nothing: its rate would be its copying speed.
  const rate = !cached && outputTokens !== undefined && streamingMs > 0 ? (outputTokens / streamingMs) * 1000 : undefined;
  return { firstChunkAt, chunkGapsMs, outputTokensPerSecond: rate };
}
