import { createHash } from 'node:crypto';
import { CHARS_PER_TOKEN, countTokens, inputTokensOf } from '../tokens.js';
import type { MessageParams, MessageResponse } from '../types.js';

/**
 * What the simulator says: text derived from a hash of the request, so the same request
 * always gets the same answer, and token counts estimated from text length
 * (`providers/tokens.ts`).
 */
const WORDS = (
  'the a request response agent model latency cache token stream error retry budget deadline queue ' +
  'function module test value result record check measure profile trace span metric histogram ' +
  'percentile throughput concurrency limit bound signal abort timeout circuit probe backoff jitter ' +
  'python review investigate hypothesis evidence fix regression baseline gate verdict report plot'
).split(' ');

export interface SimulatedAnswer {
  text: string;
  outputTokens: number;
  stopReason: 'end_turn' | 'max_tokens';
  /** 32 bits of the request's hash: seeds per-request draws (latency) when asked to. */
  requestSeed: number;
}

/** Deterministic answer for a request: 16 to 143 words, cut at max_tokens. */
export function answerFor(params: MessageParams): SimulatedAnswer {
  const digest = createHash('sha256')
    .update(JSON.stringify([params.model, params.system, params.messages, params.temperature, params.max_tokens]))
    .digest();
  const wordCount = 16 + (digest[0] % 128);
  const parts: string[] = [];
  for (let i = 0; i < wordCount; i++) parts.push(WORDS[(digest[i % digest.length] + i * 7) % WORDS.length]);
  let text = parts.join(' ') + '.';
  let stopReason: SimulatedAnswer['stopReason'] = 'end_turn';
  const maxChars = params.max_tokens * CHARS_PER_TOKEN;
  if (text.length > maxChars) {
    text = text.slice(0, maxChars);
    stopReason = 'max_tokens';
  }
  return { text, outputTokens: Math.min(params.max_tokens, countTokens(text)), stopReason, requestSeed: digest.readUInt32BE(28) };
}

export function messageFor(params: MessageParams, id: string, answer: SimulatedAnswer = answerFor(params)): MessageResponse {
  return {
    id,
    type: 'message',
    role: 'assistant',
    model: params.model,
    content: [{ type: 'text', text: answer.text }],
    stop_reason: answer.stopReason,
    stop_sequence: null,
    usage: { input_tokens: inputTokensOf(params), output_tokens: answer.outputTokens, cache_read_input_tokens: 0, cache_creation_input_tokens: 0 },
  };
}
