/**
 * Metric and span names. Where the OpenTelemetry GenAI semantic conventions define a name
 * (client operation duration and token usage, agent and workflow invocation durations), it is
 * theirs; the rest are agentperf's own (`agentperf.*`). In Prometheus, dots become
 * underscores, the unit is appended (`gen_ai_client_operation_duration_seconds`) and counters
 * get `_total` (metric-export.ts).
 */
export const METRICS = {
  operationDuration: 'gen_ai.client.operation.duration',
  tokenUsage: 'gen_ai.client.token.usage',
  agentDuration: 'gen_ai.invoke_agent.duration',
  agentCalls: 'agentperf.agent.calls',
  agentErrors: 'agentperf.agent.errors',
  inFlight: 'agentperf.agent.in_flight',
  queueWait: 'agentperf.agent.queue_wait',
  queued: 'agentperf.agent.queued',
  queueLimit: 'agentperf.agent.queue_limit',
  retries: 'agentperf.retries',
  circuitState: 'agentperf.circuit.state',
  cacheRequests: 'agentperf.cache.requests',
  cacheBytes: 'agentperf.cache.bytes',
  cacheEntries: 'agentperf.cache.entries',
  cacheEvictions: 'agentperf.cache.evictions',
  cacheExpirations: 'agentperf.cache.expirations',
  cacheIntegrityFailures: 'agentperf.cache.integrity_failures',
  cacheTierOperations: 'agentperf.cache.tier.operations',
  cacheTierUp: 'agentperf.cache.tier.up',
  workflowRuns: 'agentperf.workflow.runs',
  workflowDuration: 'gen_ai.workflow.duration',
  workflowSteps: 'agentperf.workflow.steps',
  workflowStepDuration: 'agentperf.workflow.step.duration',
  labelOverflow: 'agentperf.telemetry.label_overflow',
  timeToFirstChunk: 'gen_ai.client.operation.time_to_first_chunk',
  timePerOutputChunk: 'gen_ai.client.operation.time_per_output_chunk',
  streamCancellations: 'agentperf.stream.cancellations',
  streamInterruptions: 'agentperf.stream.interruptions',
} as const;

/**
 * Each metric's unit (UCUM; a count's is an annotation in braces). Every instrument is made with
 * its unit from here, and its Prometheus name follows from name and unit (metric-export.ts).
 */
export const METRIC_UNITS: Readonly<Record<keyof typeof METRICS, string>> = {
  operationDuration: 's',
  tokenUsage: '{token}',
  agentDuration: 's',
  agentCalls: '{call}',
  agentErrors: '{call}',
  inFlight: '{call}',
  queueWait: 's',
  queued: '{call}',
  queueLimit: '{call}',
  retries: '{attempt}',
  circuitState: '{state}',
  cacheRequests: '{request}',
  cacheBytes: 'By',
  cacheEntries: '{entry}',
  cacheEvictions: '{entry}',
  cacheExpirations: '{entry}',
  cacheIntegrityFailures: '{entry}',
  cacheTierOperations: '{operation}',
  cacheTierUp: '{state}',
  workflowRuns: '{run}',
  workflowDuration: 's',
  workflowSteps: '{step}',
  workflowStepDuration: 's',
  labelOverflow: '{value}',
  timeToFirstChunk: 's',
  timePerOutputChunk: 's',
  streamCancellations: '{stream}',
  streamInterruptions: '{stream}',
};

// Bucket advice from the GenAI semantic conventions (seconds; tokens).
export const OPERATION_DURATION_BUCKETS = [0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92];
export const TOKEN_USAGE_BUCKETS = [1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864];
// Agent invocations, workflow steps and queue waits. Not the conventions' advice for
// gen_ai.invoke_agent.duration (0.1 s to 409.6 s): memory-cache hits take microseconds, so
// finer buckets below 10 ms; and 0.5 s and 1 s are the default SLOs' thresholds (p95 500 ms,
// p99 1 s): the latency alerts count calls slower than them, which needs a bucket boundary at each.
export const AGENT_DURATION_BUCKETS = [0.0001, 0.0005, 0.001, 0.005, 0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.5, 0.64, 1, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96];
// gen_ai.workflow.duration: the name and the bucket advice exactly as the conventions give them
// (open-telemetry/semantic-conventions-genai, docs/gen-ai/gen-ai-metrics.md and
// model/gen-ai/metrics.yaml at commit 004902b8cb70aa5ae6ca4ae07132b7daabcd3e10, the newest read
// on 2026-12-06; its pull request #341 proposes `gen_ai.invoke_workflow.duration`, not merged
// there). Kept as advised, coarse as it is for simulated workflows of milliseconds, so that
// workflow histograms aggregate with other services'; the steps' metric has the finer buckets.
export const WORKFLOW_DURATION_BUCKETS = [1, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, 7200];

// The streaming client metrics: the conventions we read give them no bucket advice, so these are
// the advice of their server-side counterparts (gen_ai.server.time_to_first_token and
// gen_ai.server.time_per_output_token), with finer buckets below 10 ms added to the second:
// chunks relayed from the cache or a shared stream come microseconds apart.
export const TIME_TO_FIRST_CHUNK_BUCKETS = [0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10];
export const TIME_PER_OUTPUT_CHUNK_BUCKETS = [0.0001, 0.0005, 0.001, 0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1, 2.5];

export const CIRCUIT_STATE_VALUE = { closed: 0, 'half-open': 1, open: 2 } as const;

/** gen_ai.provider.name: the simulator stands in for the Anthropic API, so its calls are `anthropic` too. */
export const PROVIDER_NAME = 'anthropic';

export const SPAN_ATTRIBUTES = {
  operation: 'gen_ai.operation.name',
  agentName: 'gen_ai.agent.name',
  agentDescription: 'gen_ai.agent.description',
  requestMaxTokens: 'gen_ai.request.max_tokens',
  requestTemperature: 'gen_ai.request.temperature',
  cacheReadTokens: 'gen_ai.usage.cache_read.input_tokens',
  cacheCreationTokens: 'gen_ai.usage.cache_creation.input_tokens',
  workflowName: 'gen_ai.workflow.name',
  requestModel: 'gen_ai.request.model',
  responseModel: 'gen_ai.response.model',
  finishReasons: 'gen_ai.response.finish_reasons',
  providerName: 'gen_ai.provider.name',
  serverAddress: 'server.address',
  serverPort: 'server.port',
  tokenType: 'gen_ai.token.type',
  inputTokens: 'gen_ai.usage.input_tokens',
  outputTokens: 'gen_ai.usage.output_tokens',
  errorType: 'error.type',
  cacheResult: 'agentperf.cache.result',
  cacheTier: 'agentperf.cache.tier',
  attempts: 'agentperf.attempts',
  queueWaitMs: 'agentperf.queue_wait_ms',
  workflowId: 'agentperf.workflow.id',
  workflowSteps: 'agentperf.workflow.steps',
  workflowStatus: 'agentperf.workflow.status',
  stepId: 'agentperf.workflow.step.id',
  timeToFirstChunk: 'gen_ai.response.time_to_first_chunk',
} as const;
