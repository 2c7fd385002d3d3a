import pino, { type Logger } from 'pino';

export type { Logger };

let logContext: (() => Record<string, string> | undefined) | undefined;

/**
 * Lets instrumentation add fields to every log line (trace_id and span_id inside a span)
 * without the core importing OpenTelemetry. `undefined` removes the hook.
 */
export function setLogContext(provider: (() => Record<string, string> | undefined) | undefined): void {
  logContext = provider;
}

/** The fields the hook adds; any pino logger can use it as its `mixin`. */
export function logMixin(): Record<string, string> {
  return logContext?.() ?? {};
}

/**
 * Structured logs to stderr (stdout belongs to results: tables, --json). Level from
 * AGENTPERF_LOG_LEVEL, default `info`.
 */
export const rootLogger: Logger = pino(
  {
    name: 'agentperf',
    level: process.env.AGENTPERF_LOG_LEVEL ?? 'info',
    base: { pid: process.pid },
    mixin: logMixin,
  },
  pino.destination({ fd: 2, sync: true }),
);
