import { context, propagation } from '@opentelemetry/api';
import type { FastifyRequest } from 'fastify';

/**
 * Runs `fn` in the trace the caller sent (W3C `traceparent`, `tracestate`, `baggage`), so the
 * spans it makes join the caller's trace. Without instrumentation, or without the headers,
 * this is the current context.
 */
export function inCallerTrace<T>(request: FastifyRequest, fn: () => T): T {
  return context.with(propagation.extract(context.active(), request.headers), fn);
}
