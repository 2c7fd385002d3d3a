/**
 * One error base class with stable codes (as undici's lib/core/errors.js does).
 * Tests and callers branch on `code`, never on the wording of `message`.
 *
 * `exitCode` is what the CLI exits with when the error reaches it: 2 for bad usage or bad
 * input (the caller can fix it), 1 for a run that failed.
 */
export class AgentperfError extends Error {
  readonly code: string;
  readonly exitCode: 1 | 2;

  constructor(code: string, message: string, options?: { cause?: unknown; exitCode?: 1 | 2 }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.exitCode = options?.exitCode ?? 1;
  }
}

/** Bad input: names the field and the rule it broke. Always exit code 2. */
export class ValidationError extends AgentperfError {
  readonly field: string;

  constructor(code: string, field: string, message: string) {
    super(code, message, { exitCode: 2 });
    this.field = field;
  }
}

export class UsageError extends ValidationError {
  constructor(field: string, message: string) {
    super('AP_ERR_USAGE', field, message);
  }
}

export class ConfigError extends ValidationError {
  readonly file: string | undefined;

  constructor(field: string, message: string, file?: string) {
    super('AP_ERR_CONFIG', field, file ? `${file}: ${message}` : message);
    this.file = file;
  }
}

export class UnknownAgentError extends ValidationError {
  constructor(name: string, known: readonly string[]) {
    super('AP_ERR_UNKNOWN_AGENT', 'agent', `agent must be one of the configured agents (${known.join(', ')}), got ${JSON.stringify(name)}`);
  }
}

export class InvalidAgentNameError extends ValidationError {
  constructor(name: string) {
    super('AP_ERR_AGENT_NAME', 'agent', `agent name must match ^[a-zA-Z0-9_-]{1,64}$, got ${JSON.stringify(name.slice(0, 80))}`);
  }
}

export class UnknownModelError extends ValidationError {
  constructor(field: string, model: string, known: readonly string[]) {
    super('AP_ERR_UNKNOWN_MODEL', field, `${field} must be a known Claude model id (${known.join(', ')}), got ${JSON.stringify(model)}`);
  }
}

export class EmptyTaskError extends ValidationError {
  constructor() {
    super('AP_ERR_TASK_EMPTY', 'task', 'task must be a non-empty string that is not only white space');
  }
}

export class TaskTooLongError extends ValidationError {
  constructor(length: number, maxChars: number) {
    super('AP_ERR_TASK_TOO_LONG', 'task', `task must be at most ${maxChars} characters, got ${length}`);
  }
}

export class ControlCharacterError extends ValidationError {
  constructor(index: number, charCode: number) {
    const hex = charCode.toString(16).padStart(4, '0');
    super('AP_ERR_TASK_CONTROL_CHAR', 'task', `task must not contain NUL or control characters other than tab, CR and LF, found U+${hex} at index ${index}`);
  }
}

export class ParameterRangeError extends ValidationError {
  constructor(field: string, rule: string, got: unknown) {
    super('AP_ERR_PARAM_RANGE', field, `${field} must be ${rule}, got ${JSON.stringify(got)}`);
  }
}

export class QueueFullError extends AgentperfError {
  constructor(maxQueued: number) {
    super('AP_ERR_QUEUE_FULL', `the queue of waiting calls is full (${maxQueued} waiting); retry later or raise maxQueued`);
  }
}

export class TimeoutError extends AgentperfError {
  readonly kind: 'attempt' | 'deadline';

  constructor(kind: 'attempt' | 'deadline', ms: number) {
    super('AP_ERR_TIMEOUT', kind === 'attempt' ? `the attempt timed out after ${ms} ms` : `the call passed its deadline of ${ms} ms`);
    this.kind = kind;
  }
}

export class AbortedError extends AgentperfError {
  constructor(reason?: unknown) {
    super('AP_ERR_ABORTED', 'the call was aborted by the caller', { cause: reason });
  }
}

export class ClosedError extends AgentperfError {
  constructor() {
    super('AP_ERR_CLOSED', 'the orchestrator is closed and accepts no more calls');
  }
}

export class CircuitOpenError extends AgentperfError {
  readonly model: string;
  readonly retryInMs: number;

  constructor(model: string, retryInMs: number) {
    super('AP_ERR_CIRCUIT_OPEN', `the circuit for model ${model} is open after repeated failures; next probe in ${Math.max(0, Math.round(retryInMs))} ms`);
    this.model = model;
    this.retryInMs = retryInMs;
  }
}

/** The provider answered with an error status, or the connection failed. */
export class UpstreamError extends AgentperfError {
  /** HTTP status, or undefined for a connection-level failure. */
  readonly status: number | undefined;
  /** The API's error type (`overloaded_error`, `rate_limit_error`, ...) or `connection_error`. */
  readonly errorType: string;
  readonly retryAfterMs: number | undefined;
  readonly requestId: string | undefined;

  constructor(init: { status?: number; errorType: string; message: string; retryAfterMs?: number; requestId?: string; cause?: unknown }) {
    super(init.status === undefined ? 'AP_ERR_CONNECTION' : 'AP_ERR_UPSTREAM', init.message, { cause: init.cause });
    this.status = init.status;
    this.errorType = init.errorType;
    this.retryAfterMs = init.retryAfterMs;
    this.requestId = init.requestId;
  }
}

/** A short, stable label for an error: its code, or the constructor name for foreign errors. */
export function errorType(error: unknown): string {
  if (error instanceof UpstreamError) return error.status === undefined ? error.errorType : `http_${error.status}`;
  if (error instanceof AgentperfError) return error.code;
  // The SDK's own errors, before the orchestrator maps them, carry the HTTP status too.
  const status = (error as { status?: unknown } | null)?.status;
  if (typeof status === 'number') return `http_${status}`;
  // Node's system errors (ECONNREFUSED, ECONNRESET, ...) and undici's name themselves by code.
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && code.length > 0) return code;
  if (error instanceof Error) return error.name;
  return 'unknown';
}

/** The cache directory breaks a path rule (outside the allowed roots, `..`, a symlink out, writable by others). */
export class CachePathError extends ValidationError {
  constructor(message: string) {
    super('AP_ERR_CACHE_PATH', 'cacheDir', message);
  }
}

/** No usable cache secret. The message never contains the secret itself. */
export class CacheSecretError extends ValidationError {
  constructor(message: string) {
    super('AP_ERR_CACHE_SECRET', 'AGENTPERF_CACHE_SECRET', message);
  }
}
