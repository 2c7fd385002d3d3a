import test from 'ava';
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, TraceFlags } from '@opentelemetry/api';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { AlwaysOffSampler, AlwaysOnSampler, InMemorySpanExporter, ParentBasedSampler, SimpleSpanProcessor, type Sampler } from '@opentelemetry/sdk-trace-base';
import { hrTimeOf, LightTracer, samplerFromEnv } from '../../instrumentation/light-span.ts';

function tracer(sampler: Sampler = new ParentBasedSampler({ root: new AlwaysOnSampler() })) {
  const exporter = new InMemorySpanExporter();
  const light = new LightTracer({
    processors: [new SimpleSpanProcessor(exporter)],
    sampler,
    resource: resourceFromAttributes({ 'service.name': 'light' }),
    scope: { name: 'agentperf', version: '1.2.3' },
  });
  return { light, exporter };
}

test('hrTimeOf: epoch milliseconds as [seconds, nanoseconds]', (t) => {
  t.deepEqual(hrTimeOf(1500.25), [1, 500_250_000]);
  t.deepEqual(hrTimeOf(1_733_400_000_123.5), [1_733_400_000, 123_500_000]);
  t.deepEqual(hrTimeOf(0), [0, 0]);
});

test('a light span reaches the processors as a ReadableSpan: start attributes shared and never written, later ones merged, status, events, times, scope and resource', (t) => {
  const { light, exporter } = tracer();
  const start = Object.freeze({ 'gen_ai.operation.name': 'chat', 'gen_ai.request.model': 'claude-sonnet-5-5' });
  const parent = light.startSpan('invoke_agent python-expert', { kind: SpanKind.INTERNAL });
  const span = light.startSpan('chat claude-sonnet-5-5', { kind: SpanKind.CLIENT, attributes: start }, trace.setSpan(ROOT_CONTEXT, parent));
  span.setAttributes({ 'gen_ai.usage.output_tokens': 81 });
  span.setAttribute('http.response.status_code', 200);
  span.addEvent('retry', { 'agentperf.attempt': 1 });
  span.setStatus({ code: SpanStatusCode.OK });
  span.end();
  span.setAttribute('after.end', true);
  parent.end();
  const [child, root] = exporter.getFinishedSpans();
  t.deepEqual(child.attributes, {
    'gen_ai.operation.name': 'chat',
    'gen_ai.request.model': 'claude-sonnet-5-5',
    'gen_ai.usage.output_tokens': 81,
    'http.response.status_code': 200,
  });
  t.deepEqual(Object.keys(start), ['gen_ai.operation.name', 'gen_ai.request.model'], 'the shared start attributes are untouched');
  t.is(child.kind, SpanKind.CLIENT);
  t.is(child.status.code, SpanStatusCode.OK);
  t.deepEqual(
    child.events.map((e) => [e.name, e.attributes]),
    [['retry', { 'agentperf.attempt': 1 }]],
  );
  t.is(child.parentSpanContext?.spanId, root.spanContext().spanId);
  t.is(child.spanContext().traceId, root.spanContext().traceId);
  t.regex(child.spanContext().spanId, /^[0-9a-f]{16}$/);
  t.is(child.spanContext().traceFlags, TraceFlags.SAMPLED);
  t.deepEqual(child.instrumentationScope, { name: 'agentperf', version: '1.2.3' });
  t.is(child.resource.attributes['service.name'], 'light');
  const ns = (h: [number, number]) => h[0] * 1e9 + h[1];
  t.true(ns(child.endTime) >= ns(child.startTime));
  // Within a microsecond: epoch milliseconds in a double resolve about a quarter of one.
  t.true(Math.abs(ns(child.duration) - (ns(child.endTime) - ns(child.startTime))) < 1000);
  t.true(Math.abs(ns(child.startTime) / 1e6 - Date.now()) < 60_000, 'wall-clock time');
  t.true(child.ended);
});

test('sampling: the sampler decides; an unsampled parent gives a span that records nothing and carries the trace for propagation', (t) => {
  const { light, exporter } = tracer();
  const remote = trace.setSpanContext(ROOT_CONTEXT, {
    traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
    spanId: '00f067aa0ba902b7',
    traceFlags: TraceFlags.NONE,
    isRemote: true,
  });
  const span = light.startSpan('invoke_agent x', {}, remote);
  t.false(span.isRecording());
  t.is(span.spanContext().traceId, '4bf92f3577b34da6a3ce929d0e0e4736', 'the caller trace goes on');
  t.is(span.spanContext().traceFlags, TraceFlags.NONE);
  span.end();
  t.is(exporter.getFinishedSpans().length, 0);
  const off = tracer(new AlwaysOffSampler());
  const dropped = off.light.startSpan('invoke_agent y');
  t.false(dropped.isRecording());
  t.true(trace.isSpanContextValid(dropped.spanContext()), 'a valid context still, for traceparent');
  dropped.end();
  t.is(off.exporter.getFinishedSpans().length, 0);
});

test('samplerFromEnv reads OTEL_TRACES_SAMPLER as NodeSDK does (the same values and defaults)', (t) => {
  t.is(samplerFromEnv({}).toString(), new ParentBasedSampler({ root: new AlwaysOnSampler() }).toString());
  t.is(samplerFromEnv({ OTEL_TRACES_SAMPLER: 'always_off' }).toString(), 'AlwaysOffSampler');
  t.regex(samplerFromEnv({ OTEL_TRACES_SAMPLER: 'parentbased_traceidratio', OTEL_TRACES_SAMPLER_ARG: '0.25' }).toString(), /TraceIdRatioBased\{0\.25\}/);
  t.regex(samplerFromEnv({ OTEL_TRACES_SAMPLER: 'traceidratio', OTEL_TRACES_SAMPLER_ARG: '7' }).toString(), /TraceIdRatioBased\{1\}/, 'out of range: 1');
  t.is(samplerFromEnv({ OTEL_TRACES_SAMPLER: 'bogus' }).toString(), new ParentBasedSampler({ root: new AlwaysOnSampler() }).toString());
});
