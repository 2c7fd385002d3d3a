import pino, { type Logger } from 'pino';

export type { Logger };

type LogContextProvider = (call?: object) => Record<string, string> | undefined;

let logContext: LogContextProvider | undefined;

/**
 * Lets instrumentation add trace_id and span_id to log lines without the core importing
 * OpenTelemetry. The provider is asked with no argument for every line (the context active
 * right then), and with a traced call's diagnostics message by `logFieldsFor`, for lines
 * written after an await, where no ambient context survives. `undefined` removes the hook.
 */
export function setLogContext(provider: LogContextProvider | undefined): void {
  logContext = provider;
}

/** The fields the hook adds for the active context; any pino logger can use it as its `mixin`. */
export function logMixin(): Record<string, string> {
  return logContext?.() ?? {};
}

/** trace_id and span_id of a traced call, for a log line written on its behalf. */
export function logFieldsFor(call: object | undefined): Record<string, string> | undefined {
  return call === undefined ? undefined : logContext?.(call);
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
