import Anthropic from '@anthropic-ai/sdk';
import { Agent, fetch as undiciFetch, type Dispatcher } from 'undici';
import { TimeoutError, UpstreamError } from '../errors.js';
import { rootLogger } from '../logger.js';
import { parseRetryAfterMs } from './retry-after.js';
import { accumulatingStream } from './stream-events.js';
import type { CreateMessageOptions, MessageParams, MessagesProvider, ProviderResult, ProviderServer, ProviderStream, StreamEvent } from './types.js';

/**
 * The status behind each error type the API can send as an `error` event in the middle of a
 * stream, after the 200 (docs: "Errors", "Streaming"): the retry policy and the breaker read
 * a mid-stream `overloaded_error` as they read a 529.
 */
const STATUS_OF_ERROR_TYPE: Readonly<Record<string, number>> = {
  invalid_request_error: 400,
  authentication_error: 401,
  permission_error: 403,
  not_found_error: 404,
  request_too_large: 413,
  rate_limit_error: 429,
  api_error: 500,
  overloaded_error: 529,
};

export interface AnthropicProviderOptions {
  apiKey: string;
  /** The simulator's URL, or undefined for api.anthropic.com. */
  baseURL?: string;
  /** Keep-alive sockets per origin. */
  connections?: number;
  /** `simulator` when baseURL points at the embedded simulator. */
  name?: string;
  /** Share a connection pool (the bench gives the bare SDK the same one); closed by its owner. */
  dispatcher?: Dispatcher;
  /** The server's port was picked for this process (the embedded simulator's): see ProviderServer.ephemeralPort. */
  ephemeralPort?: boolean;
}

/** The SDK's fetch, bound to one undici dispatcher. */
export function fetchWith(dispatcher: Dispatcher) {
  return ((url: string, init: RequestInit) => undiciFetch(url, { ...(init as object), dispatcher })) as never;
}

/** Maps whatever the SDK threw to an error the retry policy can read. */
export function toUpstreamError(error: unknown, timeoutMs: number): unknown {
  if (error instanceof Anthropic.APIUserAbortError) return error; // the caller decides what an abort means
  if (error instanceof Anthropic.APIConnectionTimeoutError) return new TimeoutError('attempt', timeoutMs);
  if (error instanceof Anthropic.APIError && error.status !== undefined) {
    const headers = error.headers as Headers | undefined;
    const body = error.error as { error?: { type?: string } } | undefined;
    return new UpstreamError({
      status: error.status as number, // checked above; the SDK types it by a generic
      errorType: body?.error?.type ?? String(error.status), // as the SDK's spans name it
      message: `upstream answered ${error.status}: ${error.message}`,
      retryAfterMs: headers ? parseRetryAfterMs((name) => headers.get(name)) : undefined,
      requestId: error.requestID ?? undefined,
      cause: error,
    });
  }
  if (error instanceof Anthropic.APIError && typeof error.type === 'string' && STATUS_OF_ERROR_TYPE[error.type]) {
    // An `error` event in the middle of a stream: no status of its own, its type says what happened.
    return new UpstreamError({
      status: STATUS_OF_ERROR_TYPE[error.type],
      errorType: error.type,
      message: `the stream reported ${error.type}: ${error.message}`,
      requestId: error.requestID ?? undefined,
      cause: error,
    });
  }
  if (error instanceof Anthropic.APIError || error instanceof SyntaxError || (error instanceof Error && error.name === 'TypeError')) {
    // APIConnectionError (refused, reset), or a body that did not parse as JSON; named as the SDK's spans name them.
    return new UpstreamError({
      errorType: error instanceof SyntaxError ? 'client_error' : 'connection_error',
      message: `connection to the provider failed: ${error.message}`,
      cause: error,
    });
  }
  return error;
}

/**
 * The server a client with `baseURL` calls, as its client span names it: the address without an
 * IPv6 literal's brackets, the port (the scheme's default when the URL has none), and the
 * Messages URL with any user name and password redacted (url.full must carry no credentials).
 */
export function providerServer(baseURL: string): ProviderServer {
  const url = new URL(baseURL);
  const scheme = url.protocol.replace(/:$/, '');
  if (url.username || url.password) {
    url.username = 'REDACTED';
    url.password = 'REDACTED';
  }
  // A query in a base URL may hold a key too; the Messages path has none of its own.
  url.search = '';
  url.hash = '';
  return {
    address: url.hostname.replace(/^\[(.*)\]$/, '$1'),
    port: url.port ? Number(url.port) : scheme === 'https' ? 443 : 80,
    scheme,
    // As the SDK joins its base URL and a path.
    messagesUrl: `${url.href.replace(/\/+$/, '')}/v1/messages`,
  };
}

/**
 * The SDK's per-request options. The SDK arms its own timer and AbortController for `timeout`
 * on every request anyway, so the attempt timeout costs nothing extra. A signal is passed only
 * when there is one: the SDK registers each signal for cleanup (a WeakMap and a
 * FinalizationRegistry), which costs measurable GC time per call.
 */
function requestOptions({ signal, timeoutMs, headers }: CreateMessageOptions): { timeout: number; signal?: AbortSignal; headers?: Record<string, string> } {
  const timeout = Math.max(1, Math.ceil(timeoutMs)); // the SDK accepts whole milliseconds only
  const request: { timeout: number; signal?: AbortSignal; headers?: Record<string, string> } = signal ? { signal, timeout } : { timeout };
  if (headers) request.headers = headers;
  return request;
}

/**
 * The real `@anthropic-ai/sdk` client. `maxRetries: 0` because the orchestrator owns the one
 * retry layer (DESIGN.md, seam 5); its own undici Agent so `close()` really closes sockets.
 */
export function createAnthropicProvider(options: AnthropicProviderOptions): MessagesProvider {
  const ownDispatcher = options.dispatcher ? undefined : new Agent({ connections: options.connections ?? 128, keepAliveTimeout: 30_000 });
  const client = new Anthropic({
    apiKey: options.apiKey,
    baseURL: options.baseURL,
    maxRetries: 0,
    // Deadlines are the orchestrator's, enforced through the AbortSignal; this is only a backstop.
    timeout: 10 * 60_000,
    fetch: fetchWith(options.dispatcher ?? ownDispatcher!),
    // agentperf makes this client's `chat` span itself, from the orchestrator's attempt events,
    // and injects the trace context itself (instrumentation/client-span.ts): the SDK's own
    // tracing did more per call (headers copied and sorted, a URL parsed, ten attribute calls;
    // issue 24 put it at ~66 µs per iteration), and with instrumentation off it still built
    // attributes for a span that records nothing. Off must mean no span work at all. Only clients
    // agentperf builds: a user's own clients keep their tracing.
    openTelemetry: false,
    // What the SDK reports (a stream event that is not JSON, before it throws) goes to the
    // structured log, not to the console of the application or of a CLI command.
    logger: rootLogger.child({ component: 'anthropic-sdk' }) as unknown as NonNullable<ConstructorParameters<typeof Anthropic>[0]>['logger'],
  });
  const server = options.ephemeralPort ? { ...providerServer(client.baseURL), ephemeralPort: true } : providerServer(client.baseURL);
  return {
    name: options.name ?? (options.baseURL ? 'simulator' : 'anthropic'),
    server,
    createMessage(params: MessageParams, options: CreateMessageOptions): Promise<ProviderResult> {
      // The SDK puts the request-id header on the parsed message as `_request_id`.
      return client.messages.create(params as Anthropic.MessageCreateParamsNonStreaming, requestOptions(options)) as unknown as Promise<ProviderResult>;
    },
    streamMessage(params: MessageParams, options: CreateMessageOptions): ProviderStream {
      // The SDK's raw stream (`create` with `stream: true`), not its MessageStream: the raw one
      // reads the network only as events are asked for, and never changes an event once given
      // (MessageStream reads ahead and builds its message inside the `message_start` event it
      // yielded, which a replay to a late joiner would then show). It parses the server-sent
      // events; leaving it (its iterator's return(), or the signal) aborts the request.
      const opening = client.messages
        .create({ ...params, stream: true } as Anthropic.MessageCreateParamsStreaming, requestOptions(options))
        .withResponse()
        .then(({ data, request_id }) => ({ events: data as AsyncIterable<StreamEvent>, requestId: request_id }));
      return accumulatingStream(opening);
    },
    toError: toUpstreamError,
    async close(options) {
      if (!ownDispatcher) return;
      if (options?.force) await ownDispatcher.destroy();
      else await ownDispatcher.close();
    },
  };
}
