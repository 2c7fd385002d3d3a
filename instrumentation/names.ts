/**
 * Metric and span names. Where the OpenTelemetry GenAI semantic conventions define a name
 * (client operation duration and token usage, agent and workflow invocation durations), it is
 * theirs; the rest are agentperf's own (`agentperf.*`). In Prometheus, dots become
 * underscores and counters get `_total`; this exporter version states the unit in a `# UNIT`
 * line rather than in the name (`gen_ai_client_operation_duration`, in seconds).
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
  workflowRuns: 'agentperf.workflow.runs',
  workflowDuration: 'gen_ai.invoke_workflow.duration',
  workflowSteps: 'agentperf.workflow.steps',
  workflowStepDuration: 'agentperf.workflow.step.duration',
  labelOverflow: 'agentperf.telemetry.label_overflow',
} as const;

// Bucket advice from the GenAI semantic conventions (seconds; tokens).
export const OPERATION_DURATION_BUCKETS = [0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92];
export const TOKEN_USAGE_BUCKETS = [1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864];
// Agent and workflow invocations, and queue waits. Not the conventions' advice for
// gen_ai.invoke_agent.duration (0.1 s to 409.6 s) or gen_ai.invoke_workflow.duration (1 s to
// 2 h): memory-cache hits take microseconds and a simulated workflow milliseconds, so finer
// buckets below 10 ms; and 0.5 s and 1 s are the default SLOs' thresholds (p95 500 ms, p99 1 s): the latency alerts count
// calls slower than them, which needs a bucket boundary at each.
export const AGENT_DURATION_BUCKETS = [0.0001, 0.0005, 0.001, 0.005, 0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.5, 0.64, 1, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96];

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
} as const;
