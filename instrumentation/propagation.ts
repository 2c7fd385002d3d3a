import { isSpanContextValid, propagation, trace, type Context, type TextMapPropagator, type TextMapSetter } from '@opentelemetry/api';

/**
 * The registered propagators, except that a context whose span is not valid (the non-recording
 * root span a no-op tracer hands out when no span is exported) injects no trace header: the
 * jaeger propagator writes any span context it finds, so it would send an all-zero
 * `uber-trace-id`. Baggage and a valid incoming trace go out as before.
 */
class ValidTraceOnly implements TextMapPropagator {
  constructor(private readonly inner: TextMapPropagator) {}

  inject(ctx: Context, carrier: unknown, setter?: TextMapSetter): void {
    const spanContext = trace.getSpanContext(ctx);
    this.inner.inject(spanContext && !isSpanContextValid(spanContext) ? trace.deleteSpan(ctx) : ctx, carrier, setter!);
  }

  extract(...args: Parameters<TextMapPropagator['extract']>): Context {
    return this.inner.extract(...args);
  }

  fields(): string[] {
    return this.inner.fields();
  }
}

/**
 * Wraps the propagator NodeSDK registered (from OTEL_PROPAGATORS) in `ValidTraceOnly`. The API
 * has no public getter for the global propagator; without its internal one, nothing changes.
 */
export function guardRegisteredPropagator(): void {
  const registered = (propagation as unknown as { _getGlobalPropagator?: () => TextMapPropagator })._getGlobalPropagator?.();
  if (!registered || registered instanceof ValidTraceOnly) return;
  propagation.disable();
  propagation.setGlobalPropagator(new ValidTraceOnly(registered));
}
