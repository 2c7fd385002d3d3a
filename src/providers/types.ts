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

export interface ProviderResult {
  message: MessageResponse;
  requestId: string | undefined;
}

export interface MessagesProvider {
  /** `anthropic` for the real API, `simulator` for the embedded one, `in-process` for the stand-in. */
  readonly name: string;
  /**
   * Sends one request. Rejects with an UpstreamError for an error status or a failed
   * connection; when `signal` aborts, the request is really cancelled and the promise rejects.
   */
  createMessage(params: MessageParams, options: { signal: AbortSignal }): Promise<ProviderResult>;
  /** Closes sockets; after it the process can exit on its own. */
  close(): Promise<void>;
}
