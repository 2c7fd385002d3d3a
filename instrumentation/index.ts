/**
 * `agentperf/instrumentation`: OpenTelemetry spans and metrics (Prometheus), and HDR
 * histograms, for agentperf's orchestrator and cache in any process.
 */
export { NOOP_SPAN_EXPORTER, startInstrumentation } from './start.js';
export type { Instrumentation, InstrumentationOptions } from './start.js';
export type { PercentileSnapshot } from './hdr-registry.js';
