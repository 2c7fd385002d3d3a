import { createHash } from 'node:crypto';
import type { MessageParams } from '../providers/types.js';

/** Bumped whenever the encoding below changes, so old keys can never collide with new ones. */
export const KEY_FORMAT = 'agentperf-key-v1';

export interface KeyScope {
  /** Tenant or namespace: two namespaces never share an entry. */
  namespace: string;
  /** `anthropic` and `simulator` answers never mix. */
  provider: string;
  /** The agent's config version; bump it to invalidate the agent's entries. */
  agentVersion: number;
}

/**
 * The canonical encoding of everything that changes the answer: a JSON array in a fixed
 * order, so equal requests give equal bytes whatever order their object keys were built in;
 * JSON string escaping keeps field boundaries exact. Coalescing uses this string as it is (a
 * Map key needs no cryptographic hash); the cache key is its SHA-256.
 *
 * It is built as a prefix that depends only on the scope and the agent (format, namespace,
 * provider, agent version, model, system prompt), which callers may compute once per agent,
 * and a suffix per call (messages, temperature, max_tokens, stop sequences).
 */
export function canonicalRequest(scope: KeyScope, params: MessageParams): string {
  return canonicalPrefix(scope, params.model, params.system) + canonicalSuffix(params);
}

/** The per-agent part: `[format, namespace, provider, agentVersion, model, system,` */
export function canonicalPrefix(scope: KeyScope, model: string, system: string | undefined): string {
  const head = JSON.stringify([KEY_FORMAT, scope.namespace, scope.provider, scope.agentVersion, model, system ?? null]);
  return head.slice(0, -1) + ',';
}

/** The per-call part: `messages, temperature, max_tokens, stop_sequences]` */
export function canonicalSuffix(params: MessageParams): string {
  let messages = '[';
  for (let i = 0; i < params.messages.length; i++) {
    const m = params.messages[i];
    messages += (i ? ',[' : '[') + JSON.stringify(m.role) + ',' + JSON.stringify(m.content) + ']';
  }
  return `${messages}],${params.temperature ?? 'null'},${params.max_tokens},${JSON.stringify(params.stop_sequences ?? [])}]`;
}

/** SHA-256 (all 256 bits, hex) of the canonical encoding. */
export function requestKey(scope: KeyScope, params: MessageParams): string {
  return keyOfCanonical(canonicalRequest(scope, params));
}

export function keyOfCanonical(canonical: string): string {
  return createHash('sha256').update(canonical).digest('hex');
}
