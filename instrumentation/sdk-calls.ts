import {
  createContextKey,
  context as contextApi,
  SpanKind,
  type Attributes,
  type AttributeValue,
  type Context,
  type Exception,
  type Link,
  type Span,
  type SpanContext,
  type SpanOptions,
  type SpanStatus,
  type TimeInput,
  type Tracer,
  type TracerOptions,
  type TracerProvider,
} from '@opentelemetry/api';

/**
 * Client metrics for Anthropic SDK calls that agentperf's orchestrator does not make (an app
 * that calls `client.messages.create()` itself under `--import agentperf/register`).
 *
 * The SDK reports each API call only to its tracer: it starts a CLIENT span with the request's
 * attributes (operation, model, server) and sets the answer's (response model, token usage,
 * error.type) before it ends it. So agentperf hands the SDK's tracer a span that reads those
 * attributes and records `gen_ai.client.operation.duration` and `gen_ai.client.token.usage`
 * when it ends (and, for a streamed call, which the SDK's span ends when the application's read
 * of the stream ends, `gen_ai.client.operation.time_to_first_chunk` from the SDK's own
 * `gen_ai.response.time_to_first_chunk`), and passes everything on to the real span (or to a span that records nothing,
 * when the trace is not sampled or no traces are exported): metrics for every call, whatever is
 * sampled. Calls the orchestrator makes are left alone (their attempt is already measured on
 * agentperf's own channel): the attempt marks the context they start in.
 */

/** Set in the context while the orchestrator starts an attempt's provider call. */
export const ORCHESTRATED = createContextKey('agentperf.orchestrated');

/** The Anthropic SDK's instrumentation scope (and its platform variants, `...typescript.bedrock` etc.). */
export const SDK_SCOPE = 'com.anthropic.sdk.typescript';

/** One GenAI client call, as the metrics record it. */
export interface ClientCall {
  /** The request's model. */
  model: string | undefined;
  /** The server called; `ephemeralPort` when its port was picked for this process (no `server.port` label then). */
  server: { address: string; port: number; ephemeralPort?: boolean } | undefined;
  seconds: number;
  /** What the answer said: its model and token counts (input counting cache reads and writes). */
  answer?: { model?: string; inputTokens?: number; outputTokens?: number };
  /** `error.type` when the call failed. */
  error?: string;
  /** A streamed call: the SDK's own time to its first chunk (`gen_ai.response.time_to_first_chunk`, at the first delta), seconds. */
  timeToFirstChunkS?: number;
  /** A streamed call read through a metered SDK stream (sdk-streams.ts): each delta after the first, its time since the one before, ms. */
  chunkGapsMs?: number[];
}

/** A span that remembers what the metrics need and passes every call on to `inner`. */
export class MeteredSpan implements Span {
  private readonly started = performance.now();
  private ended = false;
  private responseModel: string | undefined;
  private inputTokens: number | undefined;
  private outputTokens: number | undefined;
  private error: string | undefined;
  private timeToFirstChunk: number | undefined;
  private lastChunkAt: number | undefined;
  private chunkGaps: number[] | undefined;

  constructor(
    private readonly inner: Span,
    private readonly start: Attributes,
    private readonly record: (call: ClientCall) => void,
  ) {}

  private read(key: string, value: AttributeValue | undefined): void {
    switch (key) {
      case 'gen_ai.response.model':
        if (typeof value === 'string') this.responseModel = value;
        break;
      case 'gen_ai.usage.input_tokens':
        if (typeof value === 'number') this.inputTokens = value;
        break;
      case 'gen_ai.usage.output_tokens':
        if (typeof value === 'number') this.outputTokens = value;
        break;
      case 'error.type':
        if (typeof value === 'string') this.error = value;
        break;
      case 'gen_ai.response.time_to_first_chunk':
        if (typeof value === 'number') this.timeToFirstChunk = value;
        break;
    }
  }

  /** An output chunk (a `content_block_delta`) of this call's stream reached the application. */
  chunk(): void {
    const now = performance.now();
    if (this.lastChunkAt !== undefined) (this.chunkGaps ??= []).push(now - this.lastChunkAt);
    this.lastChunkAt = now;
  }

  spanContext(): SpanContext {
    return this.inner.spanContext();
  }
  setAttribute(key: string, value: AttributeValue): this {
    this.read(key, value);
    this.inner.setAttribute(key, value);
    return this;
  }
  setAttributes(attributes: Attributes): this {
    for (const key in attributes) this.read(key, attributes[key]);
    this.inner.setAttributes(attributes);
    return this;
  }
  addEvent(name: string, attributesOrStartTime?: Attributes | TimeInput, startTime?: TimeInput): this {
    this.inner.addEvent(name, attributesOrStartTime, startTime);
    return this;
  }
  addLink(link: Link): this {
    this.inner.addLink(link);
    return this;
  }
  addLinks(links: Link[]): this {
    this.inner.addLinks(links);
    return this;
  }
  setStatus(status: SpanStatus): this {
    this.inner.setStatus(status);
    return this;
  }
  updateName(name: string): this {
    this.inner.updateName(name);
    return this;
  }
  /** Recording until it ends, whatever `inner` does: the SDK sets the answer's attributes only on a recording span. */
  isRecording(): boolean {
    return !this.ended;
  }
  recordException(exception: Exception, time?: TimeInput): void {
    this.inner.recordException(exception, time);
  }
  end(endTime?: TimeInput): void {
    if (this.ended) return;
    this.ended = true;
    this.inner.end(endTime);
    try {
      this.recordCall();
    } catch {
      // Telemetry never breaks the app: a call that cannot be recorded is left out.
    }
  }

  private recordCall(): void {
    const s = this.start;
    const address = s['server.address'];
    const port = s['server.port'];
    this.record({
      model: typeof s['gen_ai.request.model'] === 'string' ? s['gen_ai.request.model'] : undefined,
      server: typeof address === 'string' && typeof port === 'number' ? { address, port } : undefined,
      seconds: (performance.now() - this.started) / 1000,
      // A failed call's tokens are not an answer's; its response model, when it has one, is kept.
      answer:
        this.error === undefined
          ? { model: this.responseModel, inputTokens: this.inputTokens, outputTokens: this.outputTokens }
          : { model: this.responseModel },
      error: this.error,
      timeToFirstChunkS: this.timeToFirstChunk,
      chunkGapsMs: this.chunkGaps,
    });
  }
}

/**
 * Wraps a tracer provider: the Anthropic SDK's tracers hand out metered spans for its inference
 * calls (CLIENT spans of `gen_ai.operation.name` `chat`) outside the orchestrator; every other tracer,
 * and every other span, is the inner provider's own.
 */
export class SdkCallMetricsProvider implements TracerProvider {
  constructor(
    private readonly inner: TracerProvider,
    private readonly record: (call: ClientCall) => void,
  ) {}

  getTracer(name: string, version?: string, options?: TracerOptions): Tracer {
    const real = this.inner.getTracer(name, version, options);
    if (!name.startsWith(SDK_SCOPE)) return real;
    const record = this.record;
    return {
      startSpan(spanName: string, spanOptions?: SpanOptions, ctx?: Context): Span {
        const span = real.startSpan(spanName, spanOptions, ctx);
        // Only inference calls (`chat`, a CLIENT span): the SDK's tool runner and tool spans
        // (`invoke_agent`, `execute_tool`) are not API calls, and the calls they make are metered on their own.
        const attributes = spanOptions?.attributes;
        if (!attributes || attributes['gen_ai.operation.name'] !== 'chat' || spanOptions?.kind !== SpanKind.CLIENT) return span;
        if ((ctx ?? contextApi.active()).getValue(ORCHESTRATED)) return span;
        return new MeteredSpan(span, attributes, record);
      },
      // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-assertion -- bind keeps one overload of startActiveSpan; the cast restores all of them
      startActiveSpan: real.startActiveSpan.bind(real) as Tracer['startActiveSpan'],
    };
  }
}
