import type { MessageParams } from './types.js';

/**
 * Token estimates from text length: about 4 characters a token, the usual rule of thumb for
 * English. The orchestrator uses them for client-side rate limits before a request is sent;
 * the simulator uses them for the usage it reports.
 */
export const CHARS_PER_TOKEN = 4;

export function countTokens(text: string): number {
  return Math.max(1, Math.ceil(text.length / CHARS_PER_TOKEN));
}

/** The estimated input tokens of a request: its system prompt and every message. */
export function inputTokensOf(params: MessageParams): number {
  let chars = params.system?.length ?? 0;
  for (const m of params.messages) chars += typeof m.content === 'string' ? m.content.length : JSON.stringify(m.content).length;
  return Math.max(1, Math.ceil(chars / CHARS_PER_TOKEN));
}
