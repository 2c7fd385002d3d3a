import type { Attributes } from '@opentelemetry/api';
import { errorType } from '../src/errors.js';
import type { ProviderServer, ProviderResult } from '../src/providers/types.js';
import { PROVIDER_NAME } from './names.js';

/**
 * The GenAI `chat` CLIENT span of one orchestrator attempt, made by agentperf from the attempt's
 * events in place of the Anthropic SDK's own span (switched off for the clients agentperf builds:
 * providers/anthropic.ts). It carries what the SDK's span carries for a Messages call, attribute
 * for attribute (test/instrumentation/client-span.test.ts runs both on the same call and
 * compares), with the name the GenAI conventions give a client span: `chat {model}`.
 *
 * What the span starts with depends only on the agent's model, its max_tokens and the server, so
 * it is built once per agent and reused (`ClientSpanStart`); what it ends with is one object.
 */

export interface ClientSpanStart {
  name: string;
  attributes: Attributes;
  /** What it was built for (a change rebuilds it). */
  model: string;
  maxTokens: number;
  server: ProviderServer | undefined;
}

/** The attributes a `chat` span starts with (a sampler sees these), as the SDK's for `messages.create`. */
export function clientSpanStart(model: string, maxTokens: number, server: ProviderServer | undefined): ClientSpanStart {
  const attributes: Attributes = {
    'gen_ai.provider.name': PROVIDER_NAME,
    'gen_ai.operation.name': 'chat',
    'gen_ai.request.model': model,
    'gen_ai.request.max_tokens': maxTokens,
    'http.route': '/v1/messages',
    'http.request.method': 'POST',
  };
  if (server) {
    attributes['server.address'] = server.address;
    attributes['server.port'] = server.port;
    attributes['url.scheme'] = server.scheme;
    attributes['url.path'] = new URL(server.messagesUrl).pathname;
    attributes['url.full'] = server.messagesUrl;
  }
  // Frozen: shared by every span of the agent (and sent to the export worker once).
  return { name: `chat ${model}`, attributes: Object.freeze(attributes), model, maxTokens, server };
}

/** `http.request.resend_count` of attempt `attempt` (1-based): none on the first, as the HTTP conventions say. */
export function resendAttributes(attempt: number): Attributes | undefined {
  return attempt > 1 ? { 'http.request.resend_count': attempt - 1 } : undefined;
}

/** What a successful attempt adds: the answer's id, model, usage and stop reason, its status and request id. */
export function clientSpanSuccess(message: ProviderResult): Attributes {
  const usage = message.usage;
  const cacheRead = usage.cache_read_input_tokens;
  const cacheWrite = usage.cache_creation_input_tokens;
  const attributes: Attributes = {
    // A parsed Message is the body of a 200: the SDK parses no other status into one.
    'http.response.status_code': 200,
    'gen_ai.response.id': message.id,
    'gen_ai.response.model': message.model,
    // As the conventions' Anthropic page (and the SDK) count input: cache reads and writes included.
    'gen_ai.usage.input_tokens': usage.input_tokens + (cacheRead ?? 0) + (cacheWrite ?? 0),
    'gen_ai.usage.output_tokens': usage.output_tokens,
  };
  if (typeof cacheWrite === 'number') attributes['gen_ai.usage.cache_write.input_tokens'] = cacheWrite;
  if (typeof cacheRead === 'number') attributes['gen_ai.usage.cache_read.input_tokens'] = cacheRead;
  if (message.stop_reason) attributes['anthropic.message.stop_reason'] = message.stop_reason;
  if (message._request_id) attributes['anthropic.request.id'] = message._request_id;
  return attributes;
}

/**
 * What a failed attempt adds: `error.type` (the error envelope's type, or the status, or how the
 * connection failed: named as the SDK names them), and the status and request id when the API answered.
 */
export function clientSpanFailure(error: unknown): Attributes {
  const attributes: Attributes = { 'error.type': errorType(error) };
  const { status, requestID } = (error ?? {}) as { status?: unknown; requestID?: unknown };
  if (typeof status === 'number') attributes['http.response.status_code'] = status;
  if (typeof requestID === 'string' && requestID) attributes['anthropic.request.id'] = requestID;
  return attributes;
}
