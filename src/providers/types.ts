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
export type ProviderResult = MessageResponse & { _request_id?: string | null };

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
