import { context, trace, type Context, type Span, type SpanOptions, type Tracer, type TracerOptions, type TracerProvider } from '@opentelemetry/api';

/** A span that records nothing and carries no trace context: what a tracer gives while switched off. */
const OFF_SPAN: Span = trace.wrapSpanContext({ traceId: '00000000000000000000000000000000', spanId: '0000000000000000', traceFlags: 0 });

/**
 * A tracer provider that can be switched off and on while it stays registered. Clients keep the
 * tracer they got once (the Anthropic SDK takes its tracer when it is constructed), so swapping
 * the global provider would not reach them; this provider's tracers ask `enabled` at every span
 * instead. Off, they hand out a span that records nothing and injects no trace context, so the
 * SDK skips its tracing work as it does with no provider at all.
 */
export class SwitchableTracerProvider implements TracerProvider {
  enabled = true;

  constructor(private readonly inner: TracerProvider) {}

  getTracer(name: string, version?: string, options?: TracerOptions): Tracer {
    const real = this.inner.getTracer(name, version, options);
    // eslint-disable-next-line @typescript-eslint/no-this-alias -- the tracer's methods have their own `this`; the provider is kept apart
    const provider = this;
    return {
      startSpan(spanName: string, spanOptions?: SpanOptions, ctx?: Context): Span {
        return provider.enabled ? real.startSpan(spanName, spanOptions, ctx) : OFF_SPAN;
      },
      startActiveSpan(spanName: string, ...rest: unknown[]): unknown {
        if (provider.enabled) return (real.startActiveSpan as (...a: unknown[]) => unknown)(spanName, ...rest);
        const fn = rest.at(-1) as (span: Span) => unknown;
        const ctx = rest.length === 3 ? (rest[1] as Context) : context.active();
        return context.with(trace.setSpan(ctx, OFF_SPAN), fn, undefined, OFF_SPAN);
      },
    };
  }
}
