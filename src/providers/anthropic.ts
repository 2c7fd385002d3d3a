import Anthropic from '@anthropic-ai/sdk';
import { Agent, fetch as undiciFetch } from 'undici';
import { UpstreamError } from '../errors.ts';
import { parseRetryAfterMs } from './retry-after.ts';
import type { MessageParams, MessageResponse, MessagesProvider, ProviderResult } from './types.ts';

export interface AnthropicProviderOptions {
  apiKey: string;
  /** The simulator's URL, or undefined for api.anthropic.com. */
  baseURL?: string;
  /** Keep-alive sockets per origin. */
  connections?: number;
  /** `simulator` when baseURL points at the embedded simulator. */
  name?: string;
}

/** Maps whatever the SDK threw to an UpstreamError the retry policy can read. */
export function toUpstreamError(error: unknown): UpstreamError | unknown {
  if (error instanceof Anthropic.APIUserAbortError) return error; // the caller decides what an abort means
  if (error instanceof Anthropic.APIError && error.status !== undefined) {
    const headers = error.headers as Headers | undefined;
    const body = error.error as { error?: { type?: string } } | undefined;
    return new UpstreamError({
      status: error.status,
      errorType: body?.error?.type ?? `http_${error.status}`,
      message: `upstream answered ${error.status}: ${error.message}`,
      retryAfterMs: headers ? parseRetryAfterMs((name) => headers.get(name)) : undefined,
      requestId: error.requestID ?? undefined,
      cause: error,
    });
  }
  if (error instanceof Anthropic.APIError || error instanceof SyntaxError || (error instanceof Error && error.name === 'TypeError')) {
    // APIConnectionError (refused, reset), or a body that did not parse as JSON.
    return new UpstreamError({ errorType: error instanceof SyntaxError ? 'malformed_response' : 'connection_error', message: `connection to the provider failed: ${(error as Error).message}`, cause: error });
  }
  return error;
}

/**
 * The real `@anthropic-ai/sdk` client. `maxRetries: 0` because the orchestrator owns the one
 * retry layer (DESIGN.md, seam 5); its own undici Agent so `close()` really closes sockets.
 */
export function createAnthropicProvider(options: AnthropicProviderOptions): MessagesProvider {
  const dispatcher = new Agent({ connections: options.connections ?? 128, keepAliveTimeout: 30_000 });
  const client = new Anthropic({
    apiKey: options.apiKey,
    baseURL: options.baseURL,
    maxRetries: 0,
    // Deadlines are the orchestrator's, enforced through the AbortSignal; this is only a backstop.
    timeout: 10 * 60_000,
    fetch: ((url: string, init: RequestInit) => undiciFetch(url, { ...(init as object), dispatcher } as never)) as never,
  });
  return {
    name: options.name ?? (options.baseURL ? 'simulator' : 'anthropic'),
    async createMessage(params: MessageParams, { signal }): Promise<ProviderResult> {
      try {
        const { data, request_id } = await client.messages.create(params as Anthropic.MessageCreateParamsNonStreaming, { signal }).withResponse();
        return { message: data as unknown as MessageResponse, requestId: request_id ?? undefined };
      } catch (error) {
        throw toUpstreamError(error);
      }
    },
    async close() {
      await dispatcher.close();
    },
  };
}
