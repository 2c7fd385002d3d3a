import {
  context as contextApi,
  SpanKind,
  SpanStatusCode,
  trace,
  TraceFlags,
  type Attributes,
  type AttributeValue,
  type Context,
  type Exception,
  type HrTime,
  type Link,
  type Span,
  type SpanContext,
  type SpanOptions,
  type SpanStatus,
  type TimeInput,
  type Tracer,
} from '@opentelemetry/api';
import type { InstrumentationScope } from '@opentelemetry/core';
import type { Resource } from '@opentelemetry/resources';
import {
  AlwaysOffSampler,
  AlwaysOnSampler,
  ParentBasedSampler,
  RandomIdGenerator,
  SamplingDecision,
  TraceIdRatioBasedSampler,
  type ReadableSpan,
  type Sampler,
  type SpanProcessor,
  type TimedEvent,
} from '@opentelemetry/sdk-trace-base';
import type { Logger } from '../src/logger.js';

/**
 * agentperf's own spans (invoke_agent, chat, workflow), made without the OpenTelemetry SDK's
 * per-span machinery but handed to the same span processors NodeSDK has (so they go wherever
 * the SDK's spans go), sampled by the same sampler.
 *
 * Why: inside the standard workload the SDK's two spans per upstream call cost about 45 µs of
 * main-thread CPU per iteration (issue 24's breakdown), many times their cost in a tight loop.
 * Each SDK span copies its start attributes into an object of its own and validates every
 * attribute, converts times as it goes, and lives for the call's whole latency (tens of ms),
 * so all of it survives young-generation collections. A span here keeps a reference to the
 * start attributes agentperf built once per agent (never copied), the times as numbers, and
 * the attributes set later in one object; the merged attribute set and the HrTimes are made
 * once, when an exporter reads them. Attributes are not validated: only agentperf's own code,
 * which sets valid values, uses this tracer.
 */

const EMPTY_EVENTS: TimedEvent[] = [];
const EMPTY_LINKS: Link[] = [];
const UNSET: SpanStatus = { code: SpanStatusCode.UNSET };
const TIME_ORIGIN = performance.timeOrigin;

/** Milliseconds since the epoch as an HrTime [seconds, nanoseconds]. */
export function hrTimeOf(epochMs: number): HrTime {
  const seconds = Math.floor(epochMs / 1000);
  return [seconds, Math.round((epochMs - seconds * 1000) * 1e6)];
}

/** A duration in milliseconds as an HrTime (never negative). */
export function durationOf(ms: number): HrTime {
  return hrTimeOf(Math.max(0, ms));
}

function epochMsOf(input: TimeInput | undefined): number {
  if (input === undefined) return TIME_ORIGIN + performance.now();
  if (typeof input === 'number') return input < TIME_ORIGIN ? TIME_ORIGIN + input : input; // performance.now() or epoch ms
  if (input instanceof Date) return input.getTime();
  return input[0] * 1000 + input[1] / 1e6;
}

export class LightSpan implements Span, ReadableSpan {
  private extra: Attributes | undefined;
  /** Start and end, in milliseconds since the epoch (end -1 until it ends). */
  readonly startMs: number;
  endMs = -1;
  status: SpanStatus = UNSET;
  events: TimedEvent[] = EMPTY_EVENTS;
  links: Link[] = EMPTY_LINKS;
  readonly droppedAttributesCount = 0;
  readonly droppedEventsCount = 0;
  readonly droppedLinksCount = 0;

  constructor(
    private readonly tracer: LightTracer,
    public name: string,
    readonly kind: SpanKind,
    private readonly context: SpanContext,
    readonly parentSpanContext: SpanContext | undefined,
    /** Shared, never written: agentperf builds it once per agent and model. */
    readonly startAttributes: Attributes,
    startTime: TimeInput | undefined,
  ) {
    this.startMs = epochMsOf(startTime);
  }

  get resource(): Resource {
    return this.tracer.resource;
  }
  get instrumentationScope(): InstrumentationScope {
    return this.tracer.scope;
  }
  /** The attributes set after the start, when any. */
  get laterAttributes(): Attributes | undefined {
    return this.extra;
  }
  get attributes(): Attributes {
    return this.extra ? { ...this.startAttributes, ...this.extra } : this.startAttributes;
  }
  get startTime(): HrTime {
    return hrTimeOf(this.startMs);
  }
  get endTime(): HrTime {
    return hrTimeOf(this.endMs < 0 ? this.startMs : this.endMs);
  }
  get duration(): HrTime {
    return durationOf((this.endMs < 0 ? this.startMs : this.endMs) - this.startMs);
  }
  get ended(): boolean {
    return this.endMs >= 0;
  }

  spanContext(): SpanContext {
    return this.context;
  }
  setAttribute(key: string, value: AttributeValue): this {
    if (this.endMs < 0 && value !== undefined) (this.extra ??= {})[key] = value;
    return this;
  }
  setAttributes(attributes: Attributes): this {
    if (this.endMs >= 0) return this;
    // A fresh object from agentperf's code is adopted as it is (no copy).
    if (this.extra) Object.assign(this.extra, attributes);
    else this.extra = attributes;
    return this;
  }
  addEvent(name: string, attributesOrStartTime?: Attributes | TimeInput, startTime?: TimeInput): this {
    if (this.endMs >= 0) return this;
    const timeGiven = typeof attributesOrStartTime === 'number' || attributesOrStartTime instanceof Date || Array.isArray(attributesOrStartTime);
    const attributes = timeGiven ? undefined : attributesOrStartTime;
    const time = hrTimeOf(epochMsOf(timeGiven ? attributesOrStartTime : startTime));
    if (this.events === EMPTY_EVENTS) this.events = [];
    this.events.push({ name, attributes, time, droppedAttributesCount: 0 });
    return this;
  }
  addLink(link: Link): this {
    if (this.links === EMPTY_LINKS) this.links = [];
    this.links.push(link);
    return this;
  }
  addLinks(links: Link[]): this {
    for (const link of links) this.addLink(link);
    return this;
  }
  setStatus(status: SpanStatus): this {
    if (this.endMs < 0) this.status = status;
    return this;
  }
  updateName(name: string): this {
    if (this.endMs < 0) this.name = name;
    return this;
  }
  end(endTime?: TimeInput): void {
    if (this.endMs >= 0) return;
    this.endMs = Math.max(this.startMs, epochMsOf(endTime));
    this.tracer.ended(this);
  }
  isRecording(): boolean {
    return this.endMs < 0;
  }
  recordException(exception: Exception, time?: TimeInput): void {
    const e = typeof exception === 'string' ? { message: exception } : (exception as { name?: string; message?: string; stack?: string });
    this.addEvent('exception', { 'exception.type': e.name, 'exception.message': e.message, 'exception.stacktrace': e.stack }, time);
  }
}

export interface LightTracerOptions {
  processors: readonly SpanProcessor[];
  sampler: Sampler;
  resource: Resource;
  scope: InstrumentationScope;
}

/** A tracer for agentperf's own spans (see the top of this file). */
export class LightTracer implements Tracer {
  readonly resource: Resource;
  readonly scope: InstrumentationScope;
  private readonly processors: readonly SpanProcessor[];
  private readonly sampler: Sampler;
  private readonly ids = new RandomIdGenerator();

  constructor(options: LightTracerOptions) {
    this.processors = options.processors;
    this.sampler = options.sampler;
    this.resource = options.resource;
    this.scope = options.scope;
  }

  startSpan(name: string, options: SpanOptions = {}, ctx: Context = contextApi.active()): Span {
    const parent = options.root ? undefined : trace.getSpanContext(ctx);
    const parentValid = parent !== undefined && trace.isSpanContextValid(parent);
    const traceId = parentValid ? parent.traceId : this.ids.generateTraceId();
    const spanId = this.ids.generateSpanId();
    const kind = options.kind ?? SpanKind.INTERNAL;
    const attributes = options.attributes ?? {};
    const decision = this.sampler.shouldSample(options.root ? trace.deleteSpan(ctx) : ctx, traceId, name, kind, attributes, options.links ?? []);
    const traceState = decision.traceState ?? (parentValid ? parent.traceState : undefined);
    const sampled = decision.decision === SamplingDecision.RECORD_AND_SAMPLED;
    const spanContext: SpanContext = { traceId, spanId, traceFlags: sampled ? TraceFlags.SAMPLED : TraceFlags.NONE, traceState };
    // Not recorded: a span that carries the context (for propagation) and does nothing else.
    if (decision.decision === SamplingDecision.NOT_RECORD) return trace.wrapSpanContext(spanContext);
    const span = new LightSpan(this, name, kind, spanContext, parentValid ? parent : undefined, attributes, options.startTime);
    if (decision.attributes) span.setAttributes({ ...decision.attributes });
    if (options.links?.length) span.addLinks(options.links);
    for (const processor of this.processors) processor.onStart(span, ctx);
    return span;
  }

  startActiveSpan<F extends (span: Span) => unknown>(name: string, ...rest: unknown[]): ReturnType<F> {
    const fn = rest.at(-1) as F;
    const options = (rest.length >= 2 ? rest[0] : undefined) as SpanOptions | undefined;
    const ctx = (rest.length >= 3 ? rest[1] : contextApi.active()) as Context;
    const span = this.startSpan(name, options, ctx);
    return contextApi.with(trace.setSpan(ctx, span), fn as (span: Span) => ReturnType<F>, undefined, span);
  }

  /** A span ended: to every processor (the export worker, an in-memory exporter, the console). */
  ended(span: LightSpan): void {
    for (const processor of this.processors) processor.onEnd(span);
  }
}

/**
 * The sampler NodeSDK builds from OTEL_TRACES_SAMPLER and OTEL_TRACES_SAMPLER_ARG (its
 * `buildSamplerFromEnv`, which it does not export): the same values, the same defaults.
 */
export function samplerFromEnv(env: NodeJS.ProcessEnv, log?: Logger): Sampler {
  const name = env.OTEL_TRACES_SAMPLER?.trim() || 'parentbased_always_on';
  const ratio = () => {
    const value = env.OTEL_TRACES_SAMPLER_ARG?.trim();
    const n = value ? Number(value) : NaN;
    if (!Number.isFinite(n) || n < 0 || n > 1) {
      log?.warn({ OTEL_TRACES_SAMPLER_ARG: value }, 'OTEL_TRACES_SAMPLER_ARG is blank or not within [0, 1]: using 1');
      return 1;
    }
    return n;
  };
  switch (name) {
    case 'always_on':
      return new AlwaysOnSampler();
    case 'always_off':
      return new AlwaysOffSampler();
    case 'parentbased_always_on':
      return new ParentBasedSampler({ root: new AlwaysOnSampler() });
    case 'parentbased_always_off':
      return new ParentBasedSampler({ root: new AlwaysOffSampler() });
    case 'traceidratio':
      return new TraceIdRatioBasedSampler(ratio());
    case 'parentbased_traceidratio':
      return new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(ratio()) });
    default:
      log?.warn({ OTEL_TRACES_SAMPLER: name }, 'OTEL_TRACES_SAMPLER is not one agentperf knows: using parentbased_always_on');
      return new ParentBasedSampler({ root: new AlwaysOnSampler() });
  }
}
