/**
 * agentperf's own instrumentation cost per upstream call, in µs of main-thread CPU: the core's
 * channels driven exactly as the orchestrator drives them for one upstream call (an agent call
 * around one attempt, the attempt around the SDK's client span), with nothing else in the
 * process, so a few microseconds stand out (inside the real workload each iteration costs
 * about 700 µs of main-thread time, and a 10 µs difference drowns in its noise).
 *
 * The SDK's span is made in both states by NodeSDK's tracer provider class with a no-op
 * exporter: "on", the registered one, reached as the SDK reaches it (through agentperf's switch
 * and its metering wrapper); "off", one of its own. So what differs between the states is
 * agentperf's part alone (its tracer wrappers, its channel handlers, its invoke_agent span and
 * the context it makes active, metrics, HDR records). Rounds of on and off alternate ABBA; the
 * paired t interval of log(on / off) is turned into µs per call.
 */
import { SpanKind, trace, type Tracer } from '@opentelemetry/api';
import { TracerProvider } from '@opentelemetry/sdk-trace';
import { BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { SDK_SCOPE } from '../../instrumentation/sdk-calls.js';
import { NOOP_SPAN_EXPORTER, startInstrumentation } from '../../instrumentation/start.js';
import { agentChannel, attemptChannel, traced, type AgentCallMessage } from '../diagnostics.js';
import { cpuSince, readCpu } from '../measure/cpu.js';
import { comparePaired, type Comparison } from '../stats/compare.js';
import { median } from '../stats/percentiles.js';

export interface OwnCostOptions {
  /** Measured pairs of rounds (one on, one off). */
  pairs: number;
  warmupPairs: number;
  /** Upstream calls per round. */
  callsPerRound: number;
}

export const DEFAULT_OWN_COST: OwnCostOptions = { pairs: 20, warmupPairs: 4, callsPerRound: 4_000 };
/** The target: at most this many µs of main-thread CPU per upstream call. */
export const OWN_COST_TARGET_US = 10;

export interface OwnCostResult {
  options: OwnCostOptions;
  /** Main-thread µs per upstream call, medians over the rounds. */
  offUsPerCall: number;
  onUsPerCall: number;
  comparison: Comparison;
  /** agentperf's part, µs per call: estimate and 95% interval. */
  addedUs: { estimate: number; low: number; high: number };
  elapsedMs: number;
}

const MODEL = 'claude-sonnet-5-5';
const RESPONSE = {
  id: 'msg_bench',
  type: 'message' as const,
  role: 'assistant' as const,
  model: 'claude-sonnet-5-5-20260901',
  content: [{ type: 'text' as const, text: 'an answer' }],
  stop_reason: 'end_turn',
  stop_sequence: null,
  usage: { input_tokens: 120, output_tokens: 80 },
};
const SERVER = { address: 'api.anthropic.com', port: 443 };
const RESULT = { queueMs: 0.05, attempts: 1, latencyMs: 1, cached: false, cacheTier: undefined, usage: { inputTokens: 120, outputTokens: 80 } };

/** One upstream call as the orchestrator and the SDK make it, through the core's channels. */
async function upstreamCall(sdk: Tracer): Promise<unknown> {
  const attempt = (message: AgentCallMessage | undefined) =>
    traced(
      attemptChannel,
      () => ({ call: message, agent: 'python-expert', model: MODEL, provider: 'anthropic', server: SERVER, attempt: 1 }),
      async () => {
        // The SDK starts its span synchronously when the request starts, and ends it with the answer.
        const span = sdk.startSpan('anthropic.messages.create', { kind: SpanKind.CLIENT, attributes: { 'gen_ai.operation.name': 'chat', 'gen_ai.provider.name': 'anthropic', 'gen_ai.request.model': MODEL, 'server.address': SERVER.address, 'server.port': SERVER.port } });
        await Promise.resolve();
        if (span.isRecording()) span.setAttributes({ 'gen_ai.response.model': RESPONSE.model, 'gen_ai.usage.input_tokens': 120, 'gen_ai.usage.output_tokens': 80 });
        span.end();
        return RESPONSE;
      },
    );
  if (!agentChannel.hasSubscribers) {
    await attempt(undefined);
    return RESULT;
  }
  const message: AgentCallMessage = { agent: 'python-expert', model: MODEL, cacheResult: 'miss' };
  return agentChannel.tracePromise(async () => {
    await attempt(message);
    return RESULT;
  }, message);
}

export async function measureOwnCost(options: OwnCostOptions = DEFAULT_OWN_COST): Promise<OwnCostResult> {
  const startedAt = performance.now();
  // The same provider class NodeSDK registers (@opentelemetry/sdk-trace), with the same processor.
  const sdkProvider = new TracerProvider({ spanProcessors: [new BatchSpanProcessor(NOOP_SPAN_EXPORTER)] });
  const bare = sdkProvider.getTracer(SDK_SCOPE);
  const instrumentation = await startInstrumentation({ prometheus: false, spanExporter: NOOP_SPAN_EXPORTER, spanProcessor: 'batch' });
  const registered = trace.getTracer(SDK_SCOPE);
  const off: number[] = [];
  const on: number[] = [];
  try {
    const round = async (enabled: boolean) => {
      instrumentation.setEnabled(enabled);
      const start = readCpu();
      const sdk = enabled ? registered : bare;
      for (let i = 0; i < options.callsPerRound; i++) await upstreamCall(sdk);
      return cpuSince(start).mainThread / options.callsPerRound;
    };
    for (let p = 0; p < options.warmupPairs + options.pairs; p++) {
      const order = p % 2 === 0 ? [false, true] : [true, false];
      const measured: Record<string, number> = {};
      for (const enabled of order) measured[String(enabled)] = await round(enabled);
      if (p >= options.warmupPairs) {
        off.push(measured.false!);
        on.push(measured.true!);
      }
    }
  } finally {
    await instrumentation.stop();
    await sdkProvider.shutdown();
  }
  const comparison = comparePaired(off, on);
  const offUsPerCall = median(off);
  const added = (logRatio: number) => offUsPerCall * (Math.exp(logRatio) - 1);
  return {
    options,
    offUsPerCall,
    onUsPerCall: median(on),
    comparison,
    addedUs: { estimate: added(comparison.estimate), low: added(comparison.low), high: added(comparison.high) },
    elapsedMs: performance.now() - startedAt,
  };
}
