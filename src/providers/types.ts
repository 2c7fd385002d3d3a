/**
 * The seam between the orchestrator and whatever answers Messages-API requests: the real
 * SDK over HTTP (to api.anthropic.com or the simulator), or an in-process stand-in.
 */
export interface MessageParams {
  model: string;
  max_tokens: number;
  temperature?: number;
  system?: string;
  stop_sequences?: string[];
  messages: Array<{ role: 'user' | 'assistant'; content: string }>;
}

export interface MessageUsage {
  input_tokens: number;
  output_tokens: number;
  cache_read_input_tokens?: number | null;
  cache_creation_input_tokens?: number | null;
  /** The cache writes by lifetime (the Messages API's `usage.cache_creation`). */
  cache_creation?: { ephemeral_5m_input_tokens?: number | null; ephemeral_1h_input_tokens?: number | null } | null;
}

export interface MessageResponse {
  id: string;
  type: 'message';
  role: 'assistant';
  model: string;
  content: Array<{ type: 'text'; text: string } | { type: string; [key: string]: unknown }>;
  stop_reason: string | null;
  stop_sequence: string | null;
  usage: MessageUsage;
}

/**
 * What a provider resolves to: the message itself, carrying the request id as the SDK does
 * (`_request_id`, from the `request-id` header). No wrapper object, so no extra promise or
 * allocation per call on the hot path.
 */
export type ProviderResult = MessageResponse & {
  _request_id?: string | null;
  /** Set by the orchestrator on an answer it streamed: how it arrived, kept with the cached entry for a paced replay. */
  _stream_pacing?: StreamPacing;
};

/** How a streamed answer arrived: its first output chunk after the request that answered went out (queue wait and failed attempts not counted), and each later one after the one before, in ms. */
export interface StreamPacing {
  firstChunkMs: number;
  chunkGapsMs: number[];
}

/**
 * The server-sent events of a streamed Messages API answer, in the order the API sends them:
 * `message_start`, then per content block `content_block_start`, its `content_block_delta`s and
 * `content_block_stop`, then `message_delta` (the stop reason and the final output tokens) and
 * `message_stop`. The shapes are the SDK's (`RawMessageStreamEvent`), declared here so that a
 * provider needs no SDK.
 */
export type StreamEvent =
  | { type: 'message_start'; message: MessageResponse }
  | { type: 'content_block_start'; index: number; content_block: { type: 'text'; text: string } | { type: string; [key: string]: unknown } }
  | { type: 'content_block_delta'; index: number; delta: { type: 'text_delta'; text: string } | { type: string; [key: string]: unknown } }
  | { type: 'content_block_stop'; index: number }
  | { type: 'message_delta'; delta: { stop_reason: string | null; stop_sequence: string | null }; usage: Partial<MessageUsage> & { output_tokens: number } }
  | { type: 'message_stop' };

/**
 * A streamed answer: iterate it for the events as they arrive; `finalMessage()` resolves with
 * the whole message once they ended (rejects as the stream failed). Leaving the iteration
 * early (`break`, `return()`) cancels the request and releases its connection.
 */
export interface ProviderStream extends AsyncIterable<StreamEvent> {
  finalMessage(): Promise<ProviderResult>;
}

export interface CreateMessageOptions {
  /** Enforced by the provider (the SDK's own per-request timer: no extra cost per call). */
  timeoutMs: number;
  signal?: AbortSignal;
  /** Headers to send with this request: the trace context (`traceparent`, ...) that instrumentation injects. */
  headers?: Record<string, string>;
}

/** The API server a provider calls, as the client span and metrics name it. */
export interface ProviderServer {
  readonly address: string;
  readonly port: number;
  /** `http` or `https` (url.scheme). */
  readonly scheme: string;
  /** The Messages endpoint (url.full), with any user name and password in the base URL redacted. */
  readonly messagesUrl: string;
  /**
   * The port was picked for this process (the embedded simulator listens on any free port):
   * spans carry it, metric series do not, or every run would start new series.
   */
  readonly ephemeralPort?: boolean;
}

export interface MessagesProvider {
  /** `anthropic` for the real API, `simulator` for the embedded one, `in-process` for the stand-in. */
  readonly name: string;
  /** The API server it calls (server.address, server.port on client metrics), when it calls one over the network. */
  readonly server?: ProviderServer;
  /**
   * Sends one request; when `signal` aborts, the request is really cancelled and the promise
   * rejects. Whatever it rejects with goes through `toError` before anyone reads it.
   */
  createMessage(params: MessageParams, options: CreateMessageOptions): Promise<ProviderResult>;
  /**
   * Sends one request for a streamed answer (the Messages API's `stream: true`). Errors before
   * the first event (a status, a refused connection, a timeout) reject the first `next()`;
   * errors after it reject a later one. Both go through `toError`. `timeoutMs` bounds the wait
   * for the response to start. Optional: a provider without it cannot serve streamed calls.
   */
  streamMessage?(params: MessageParams, options: CreateMessageOptions): ProviderStream;
  /**
   * Maps a rejection of createMessage to agentperf's errors: UpstreamError for an error status
   * or a failed connection, TimeoutError('attempt') once `timeoutMs` has passed.
   */
  toError(error: unknown, timeoutMs: number): unknown;
  /**
   * Closes sockets; after it the process can exit on its own. With `force`, requests still in
   * flight are cut off at the socket (how close({ abortInFlight }) cancels calls without a signal).
   */
  close(options?: { force?: boolean }): Promise<void>;
}
