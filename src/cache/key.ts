import { createHash } from 'node:crypto';
import type { MessageParams } from '../providers/types.ts';

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
 * SHA-256 (all 256 bits, hex) of a canonical encoding of everything that changes the answer.
 * The encoding is a JSON array in a fixed order, so equal requests give equal bytes whatever
 * order their object keys were built in; JSON string escaping keeps field boundaries exact.
 */
export function requestKey(scope: KeyScope, params: MessageParams): string {
  const canonical = JSON.stringify([
    KEY_FORMAT,
    scope.namespace,
    scope.provider,
    scope.agentVersion,
    params.model,
    params.system ?? null,
    params.messages.map((m) => [m.role, m.content]),
    params.temperature ?? null,
    params.max_tokens,
    params.stop_sequences ?? [],
  ]);
  return createHash('sha256').update(canonical).digest('hex');
}
