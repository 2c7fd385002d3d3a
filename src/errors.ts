/**
 * Every stable error code agentperf reports, defined once. Callers, tests and the HTTP server
 * branch on these, never on the wording of a message (and never on a bare string literal).
 */
export const ErrorCode = {
  ABORTED: 'AP_ERR_ABORTED',
  AGENT_NAME: 'AP_ERR_AGENT_NAME',
  BAD_JSON: 'AP_ERR_BAD_JSON',
  BAD_REQUEST: 'AP_ERR_BAD_REQUEST',
  BASELINE: 'AP_ERR_BASELINE',
  BASELINE_FINGERPRINT: 'AP_ERR_BASELINE_FINGERPRINT',
  BENCH_BLOCK: 'AP_ERR_BENCH_BLOCK',
  BODY_TOO_LARGE: 'AP_ERR_BODY_TOO_LARGE',
  CACHE_PATH: 'AP_ERR_CACHE_PATH',
  CACHE_SECRET: 'AP_ERR_CACHE_SECRET',
  CAPACITY: 'AP_ERR_CAPACITY',
  CIRCUIT_OPEN: 'AP_ERR_CIRCUIT_OPEN',
  CLOSED: 'AP_ERR_CLOSED',
  CONFIG: 'AP_ERR_CONFIG',
  CONFLICT: 'AP_ERR_CONFLICT',
  CONNECTION: 'AP_ERR_CONNECTION',
  EXISTS: 'AP_ERR_EXISTS',
  FLAMEGRAPH: 'AP_ERR_FLAMEGRAPH',
  FORBIDDEN_HOST: 'AP_ERR_FORBIDDEN_HOST',
  GATE_BLOCK: 'AP_ERR_GATE_BLOCK',
  GIT_REF: 'AP_ERR_GIT_REF',
  HDR_LOG: 'AP_ERR_HDR_LOG',
  HEADERS_TOO_LARGE: 'AP_ERR_HEADERS_TOO_LARGE',
  HTTP_STATUS: 'AP_ERR_HTTP_STATUS',
  INTERNAL: 'AP_ERR_INTERNAL',
  LISTEN: 'AP_ERR_LISTEN',
  LEAK_PROBE: 'AP_ERR_LEAK_PROBE',
  MEDIA_TYPE: 'AP_ERR_MEDIA_TYPE',
  NOT_FOUND: 'AP_ERR_NOT_FOUND',
  NO_BASELINE: 'AP_ERR_NO_BASELINE',
  OUT_DIR: 'AP_ERR_OUT_DIR',
  PARAM_RANGE: 'AP_ERR_PARAM_RANGE',
  PARAM_UNSUPPORTED: 'AP_ERR_PARAM_UNSUPPORTED',
  PROFILE: 'AP_ERR_PROFILE',
  QUEUE_FULL: 'AP_ERR_QUEUE_FULL',
  REDIS: 'AP_ERR_REDIS',
  REQUEST_TIMEOUT: 'AP_ERR_REQUEST_TIMEOUT',
  RUN_RECORD: 'AP_ERR_RUN_RECORD',
  SCENARIO: 'AP_ERR_SCENARIO',
  SCENARIO_EXIT: 'AP_ERR_SCENARIO_EXIT',
  SCENARIO_SETUP: 'AP_ERR_SCENARIO_SETUP',
  STREAM_INTERRUPTED: 'AP_ERR_STREAM_INTERRUPTED',
  TASK_CONTROL_CHAR: 'AP_ERR_TASK_CONTROL_CHAR',
  TASK_EMPTY: 'AP_ERR_TASK_EMPTY',
  TASK_TOO_LONG: 'AP_ERR_TASK_TOO_LONG',
  TASK_TYPE: 'AP_ERR_TASK_TYPE',
  THRESHOLD: 'AP_ERR_THRESHOLD',
  TIMEOUT: 'AP_ERR_TIMEOUT',
  UNAUTHORIZED: 'AP_ERR_UNAUTHORIZED',
  UNKNOWN_AGENT: 'AP_ERR_UNKNOWN_AGENT',
  UNKNOWN_MODEL: 'AP_ERR_UNKNOWN_MODEL',
  UPSTREAM: 'AP_ERR_UPSTREAM',
  URI_TOO_LONG: 'AP_ERR_URI_TOO_LONG',
  USAGE: 'AP_ERR_USAGE',
  VALIDATION: 'AP_ERR_VALIDATION',
  WORKFLOW: 'AP_ERR_WORKFLOW',
  WORKFLOW_FAILED: 'AP_ERR_WORKFLOW_FAILED',
  WRITE: 'AP_ERR_WRITE',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/**
 * What the CLI exits with, one meaning each, for every command:
 * - 0: success (a gate PASS, a CLEAN leak check, thresholds met);
 * - 1: the thing measured failed (a regression, a LEAK, a threshold broken, a call that failed);
 * - 2: bad usage or bad input the caller can fix (an option, a config, a baseline file);
 * - 3: inconclusive (`gate`, `leak`): not enough evidence either way;
 * - 4: agentperf could not do its job (a block that crashed, a write that failed, a scenario
 *   whose setup threw or that ended the process, an unexpected internal error). CI must never
 *   read a broken tool as a regression, nor as a pass.
 */
export type ExitCode = 0 | 1 | 2 | 3 | 4;
export const EXIT_TOOL_FAILURE = 4;

/** The codes that mean agentperf could not do its job (exit 4) unless an error says otherwise. */
const TOOL_FAILURES: ReadonlySet<string> = new Set([
  'AP_ERR_GATE_BLOCK',
  'AP_ERR_WRITE',
  'AP_ERR_INTERNAL',
  'AP_ERR_BENCH_BLOCK',
  'AP_ERR_PROFILE',
  'AP_ERR_FLAMEGRAPH',
  'AP_ERR_LEAK_PROBE',
  'AP_ERR_SCENARIO_SETUP',
  'AP_ERR_SCENARIO_EXIT',
  'AP_ERR_REDIS',
]);

/**
 * One error base class with stable codes (as undici's lib/core/errors.js does).
 * Tests and callers branch on `code`, never on the wording of `message`.
 *
 * `exitCode` is what the CLI exits with when the error reaches it (see `ExitCode`): 2 for bad
 * usage or bad input, 4 for a tool or environment failure, 1 for a run that failed.
 */
export class AgentperfError extends Error {
  readonly code: ErrorCode;
  readonly exitCode: 1 | 2 | 4;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown; exitCode?: 1 | 2 | 4 }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.exitCode = options?.exitCode ?? (TOOL_FAILURES.has(code) ? EXIT_TOOL_FAILURE : 1);
  }
}

/** Bad input: names the field and the rule it broke. Always exit code 2. */
export class ValidationError extends AgentperfError {
  readonly field: string;

  constructor(code: ErrorCode, field: string, message: string) {
    super(code, message, { exitCode: 2 });
    this.field = field;
  }
}

export class UsageError extends ValidationError {
  constructor(field: string, message: string) {
    super(ErrorCode.USAGE, field, message);
  }
}

export class ConfigError extends ValidationError {
  readonly file: string | undefined;

  constructor(field: string, message: string, file?: string) {
    super(ErrorCode.CONFIG, field, file ? `${file}: ${message}` : message);
    this.file = file;
  }
}

export class UnknownAgentError extends ValidationError {
  constructor(name: string, known: readonly string[]) {
    super(ErrorCode.UNKNOWN_AGENT, 'agent', `agent must be one of the configured agents (${known.join(', ')}), got ${JSON.stringify(name)}`);
  }
}

export class InvalidAgentNameError extends ValidationError {
  constructor(name: string) {
    super(ErrorCode.AGENT_NAME, 'agent', `agent name must match ^[a-zA-Z0-9_-]{1,64}$, got ${JSON.stringify(name.slice(0, 80))}`);
  }
}

export class UnknownModelError extends ValidationError {
  constructor(field: string, model: string, known: readonly string[]) {
    super(ErrorCode.UNKNOWN_MODEL, field, `${field} must be a known Claude model id (${known.join(', ')}), got ${JSON.stringify(model)}`);
  }
}

export class EmptyTaskError extends ValidationError {
  constructor() {
    super(ErrorCode.TASK_EMPTY, 'task', 'task must be a non-empty string that is not only white space');
  }
}

export class TaskTooLongError extends ValidationError {
  constructor(length: number, maxChars: number) {
    super(ErrorCode.TASK_TOO_LONG, 'task', `task must be at most ${maxChars} characters, got ${length}`);
  }
}

export class ControlCharacterError extends ValidationError {
  constructor(index: number, charCode: number) {
    const hex = charCode.toString(16).padStart(4, '0');
    super(ErrorCode.TASK_CONTROL_CHAR, 'task', `task must not contain NUL or control characters other than tab, CR and LF, found U+${hex} at index ${index}`);
  }
}

export class ParameterRangeError extends ValidationError {
  constructor(field: string, rule: string, got: unknown) {
    super(ErrorCode.PARAM_RANGE, field, `${field} must be ${rule}, got ${JSON.stringify(got)}`);
  }
}

export class QueueFullError extends AgentperfError {
  constructor(maxQueued: number) {
    super(ErrorCode.QUEUE_FULL, `the queue of waiting calls is full (${maxQueued} waiting); retry later or raise maxQueued`);
  }
}

/**
 * What timed out: an attempt (no answer in time), the call's deadline, a streamed attempt's
 * wait for its first chunk, or a stream's wait for its next chunk (idle).
 */
export type TimeoutKind = 'attempt' | 'deadline' | 'first_chunk' | 'idle';

const TIMEOUT_MESSAGES: Record<TimeoutKind, (ms: number) => string> = {
  attempt: (ms) => `the attempt timed out after ${ms} ms`,
  deadline: (ms) => `the call passed its deadline of ${ms} ms`,
  first_chunk: (ms) => `no first chunk of the stream within ${ms} ms`,
  idle: (ms) => `the stream sent nothing for ${ms} ms (idle timeout)`,
};

export class TimeoutError extends AgentperfError {
  readonly kind: TimeoutKind;

  constructor(kind: TimeoutKind, ms: number) {
    super(ErrorCode.TIMEOUT, TIMEOUT_MESSAGES[kind](ms));
    this.kind = kind;
  }
}

/**
 * A streamed call failed after some of its output reached the caller: it is never retried
 * (a retry would replay what was seen). Says how much was delivered; `cause` is the failure
 * (an UpstreamError such as a mid-stream `overloaded_error`, a reset, a TimeoutError).
 */
export class StreamInterruptedError extends AgentperfError {
  /** Stream events delivered to this caller before the failure. */
  readonly deliveredEvents: number;
  /** Characters of text delivered to this caller before the failure. */
  readonly deliveredTextChars: number;
  /** The failure's label (errorType of the cause): `overloaded_error`, `connection_error`, `AP_ERR_TIMEOUT`, ... */
  readonly reason: string;

  constructor(cause: unknown, deliveredEvents: number, deliveredTextChars: number) {
    const reason = errorType(cause);
    super(
      ErrorCode.STREAM_INTERRUPTED,
      `the stream failed after ${deliveredEvents} events (${deliveredTextChars} characters of text) had been delivered: ${reason}: ${(cause as Error)?.message ?? String(cause)}`,
      { cause },
    );
    this.deliveredEvents = deliveredEvents;
    this.deliveredTextChars = deliveredTextChars;
    this.reason = reason;
  }
}

export class AbortedError extends AgentperfError {
  constructor(reason?: unknown) {
    super(ErrorCode.ABORTED, 'the call was aborted by the caller', { cause: reason });
  }
}

export class ClosedError extends AgentperfError {
  constructor() {
    super(ErrorCode.CLOSED, 'the orchestrator is closed and accepts no more calls');
  }
}

export class CircuitOpenError extends AgentperfError {
  readonly model: string;
  readonly retryInMs: number;

  constructor(model: string, retryInMs: number) {
    super(ErrorCode.CIRCUIT_OPEN, `the circuit for model ${model} is open after repeated failures; next probe in ${Math.max(0, Math.round(retryInMs))} ms`);
    this.model = model;
    this.retryInMs = retryInMs;
  }
}

/** The provider answered with an error status, or the connection failed. */
export class UpstreamError extends AgentperfError {
  /** HTTP status, or undefined for a connection-level failure. */
  readonly status: number | undefined;
  /** As the SDK names it: the API's error type (`overloaded_error`, `rate_limit_error`, ...), else the status code; `connection_error`, `client_error`. */
  readonly errorType: string;
  readonly retryAfterMs: number | undefined;
  readonly requestId: string | undefined;

  constructor(init: { status?: number; errorType: string; message: string; retryAfterMs?: number; requestId?: string; cause?: unknown }) {
    super(init.status === undefined ? ErrorCode.CONNECTION : ErrorCode.UPSTREAM, init.message, { cause: init.cause });
    this.status = init.status;
    this.errorType = init.errorType;
    this.retryAfterMs = init.retryAfterMs;
    this.requestId = init.requestId;
  }
}

/** A load target answered with an error status: counted as `http_<status>`, like upstream errors. */
export class HttpStatusError extends AgentperfError {
  readonly status: number;

  constructor(status: number, url: string) {
    super(ErrorCode.HTTP_STATUS, `${url} answered ${status}`);
    this.status = status;
  }
}

/**
 * A short, stable label for an error, used as `error.type` on spans and metrics and as the key of
 * error counts in reports. Failures of the Messages API are named as the API and the Anthropic
 * SDK name them on the SDK's own spans (the API's error type such as `rate_limit_error`,
 * else the status code; `connection_error`; `client_timeout_error`; `client_error`), so one trace
 * has one vocabulary; agentperf's own failures by their `AP_ERR_*` code; a load target's error
 * status as `http_<status>`; anything else by its system error code or class name.
 */
export function errorType(error: unknown): string {
  if (error instanceof UpstreamError) return error.errorType;
  if (error instanceof HttpStatusError) return `http_${error.status}`;
  if (error instanceof AgentperfError) return error.code;
  const { status, type, name, code } = (error ?? {}) as { status?: unknown; type?: unknown; name?: unknown; code?: unknown };
  // The SDK's own errors, before the orchestrator maps them (what the attempt channel sees).
  if (typeof status === 'number') return typeof type === 'string' && type ? type : String(status);
  if (name === 'APIConnectionTimeoutError') return 'client_timeout_error';
  if (name === 'APIConnectionError') return 'connection_error';
  // Node's system errors (ECONNREFUSED, ECONNRESET, ...) and undici's name themselves by code.
  if (typeof code === 'string' && code.length > 0) return code;
  if (error instanceof Error) return error.name;
  return 'unknown';
}

/** The cache directory breaks a path rule (outside the allowed roots, `..`, a symlink out, writable by others). */
export class CachePathError extends ValidationError {
  constructor(message: string) {
    super(ErrorCode.CACHE_PATH, 'cacheDir', message);
  }
}

/** No usable cache secret. The message never contains the secret itself. */
export class CacheSecretError extends ValidationError {
  constructor(message: string) {
    super(ErrorCode.CACHE_SECRET, 'AGENTPERF_CACHE_SECRET', message);
  }
}

/** A server that cannot listen where it was told: the address is taken or not this machine's. */
export class ListenError extends AgentperfError {
  constructor(what: string, option: string, host: string, port: number, error: unknown) {
    const code = (error as NodeJS.ErrnoException)?.code ?? 'unknown';
    const reason =
      code === 'EADDRINUSE'
        ? 'the port is in use'
        : code === 'EACCES'
          ? 'permission denied (ports below 1024 need privileges)'
          : code === 'EADDRNOTAVAIL'
            ? 'the address is not one of this machine'
            : String((error as Error)?.message ?? error);
    super(ErrorCode.LISTEN, `${what} cannot listen on ${host}:${port}: ${reason} (${code}); choose another ${option}, or 0 for any free port`, {
      cause: error,
      exitCode: 2,
    });
  }
}

/**
 * Whether `error` is one of agentperf's errors. By its code as well as its class: a scenario
 * module loaded from TypeScript sources (tsx) has its own copy of these classes, and its
 * errors must still reach the user as a code and a message, not a stack.
 */
export function isAgentperfError(error: unknown): error is AgentperfError {
  if (error instanceof AgentperfError) return true;
  const candidate = error as { code?: unknown; exitCode?: unknown } | null;
  return error instanceof Error && typeof candidate?.code === 'string' && candidate.code.startsWith('AP_ERR_') && typeof candidate.exitCode === 'number';
}

/**
 * The first frame of an error's stack, as `file:line:column` relative to the current directory
 * (file URLs turned into paths), or undefined when the error has no stack frame.
 */
export function topFrame(error: unknown): string | undefined {
  const stack = (error as { stack?: unknown } | null)?.stack;
  if (typeof stack !== 'string') return undefined;
  const line = stack.split('\n').find((l) => /^\s+at /.test(l));
  if (!line) return undefined;
  const location = /\(([^()]+)\)\s*$/.exec(line)?.[1] ?? line.replace(/^\s+at (async )?/, '');
  const path = location.startsWith('file://') ? decodeURIComponent(location.slice('file://'.length)) : location;
  const cwd = process.cwd();
  return path.startsWith(`${cwd}/`) ? path.slice(cwd.length + 1) : path;
}

/** The first line of an error's message (a user's error may carry a long one). */
function firstLine(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  const line = message.split('\n')[0] ?? '';
  return line.length > 500 ? `${line.slice(0, 500)}…` : line;
}

/**
 * A scenario's setup threw: the measurement could not start. One line with the user's message
 * and where it was thrown, never a stack (exit 4: not a regression, not bad usage).
 */
export class ScenarioSetupError extends AgentperfError {
  readonly scenario: string;

  constructor(scenario: string, error: unknown) {
    const code = isAgentperfError(error) ? `${error.code}: ` : '';
    const frame = topFrame(error);
    super(ErrorCode.SCENARIO_SETUP, `the setup of scenario ${JSON.stringify(scenario)} threw: ${code}${firstLine(error)}${frame ? ` (at ${frame})` : ''}`, {
      cause: error,
    });
    this.scenario = scenario;
  }
}

/**
 * Code agentperf does not own (a scenario, a library it loads) ended the process before the
 * command finished, so nothing was measured or reported: never an exit 0.
 */
export class ScenarioExitError extends AgentperfError {
  constructor(command: string, exitCode: number | string | undefined) {
    super(
      ErrorCode.SCENARIO_EXIT,
      `the process ended (exit code ${exitCode ?? 0}) before \`agentperf ${command}\` finished: code agentperf does not own (a scenario, most likely) called process.exit, or left agentperf waiting on a promise that can never settle; nothing was measured or reported`,
    );
  }
}
