import pino, { type Logger } from 'pino';

export type { Logger };

/**
 * Structured logs to stderr (stdout belongs to results: tables, --json). Level from
 * AGENTPERF_LOG_LEVEL, default `info`.
 */
export const rootLogger: Logger = pino(
  { name: 'agentperf', level: process.env.AGENTPERF_LOG_LEVEL ?? 'info', base: { pid: process.pid } },
  pino.destination({ fd: 2, sync: true }),
);
