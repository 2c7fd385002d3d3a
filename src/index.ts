/**
 * agentperf's public API: what `import ... from 'agentperf'` gives. Everything not exported here
 * (or from `agentperf/instrumentation` and `agentperf/register`) is internal and may change.
 */

// The orchestrator and what it returns.
export { Orchestrator } from './orchestrator/orchestrator.js';
export type {
  AgentResult,
  ExecuteItem,
  ExecuteOptions,
  OrchestratorCounters,
  OrchestratorOptions,
  SettledResult,
  StreamOptions,
  TokenUsage,
} from './orchestrator/orchestrator.js';
// A streamed call (executeAgentStream) and its result.
export { AgentStream } from './orchestrator/agent-stream.js';
export type { StreamedAgentResult } from './orchestrator/agent-stream.js';

// The signed response cache.
export { ResponseCache } from './cache/response-cache.js';
export type { CacheStats, CacheTier, DiskCacheOptions, ResponseCacheOptions, TierFactory } from './cache/response-cache.js';
export type { TierContext, TierEvent, TierRead, TierStats, TierVerification } from './cache/tier.js';
export type { RedisLinkStats, RedisSpec } from './redis/link.js';
// What a tier of your own signs and verifies entries with (the disk tier does the same).
export { decodeEntry, encodeEntry } from './cache/entry-format.js';
export type { Decoded, DecodeFailure, EntryMeta } from './cache/entry-format.js';
export type { EntrySigner } from './cache/signing.js';

// One call to assemble a provider, a cache and an orchestrator (the simulator unless live).
export { openStack, providerFor } from './stack.js';
export type { CacheSpec, ProviderSpec, SimulatorChoice, Stack, StackOptions } from './stack.js';

// Agents, and the embedded Messages-API simulator for an app that calls the SDK itself.
export { loadAgents, parseAgents } from './config/agents.js';
export type { AgentConfig } from './config/agents.js';
export { startSimulator } from './providers/simulator/server.js';
export type { RunningSimulator, SimulatorOptions, SimulatorStats, SimulatorStreamStats } from './providers/simulator/server.js';
export type { StreamTiming } from './providers/simulator/stream.js';
export type { FaultType } from './providers/simulator/faults.js';
export type {
  CreateMessageOptions,
  MessageParams,
  MessageResponse,
  MessagesProvider,
  MessageUsage,
  ProviderResult,
  ProviderServer,
  ProviderStream,
  StreamEvent,
} from './providers/types.js';

// Scenarios: one interface driven by load, profile, leak and the gate.
export { defineScenario } from './scenarios/types.js';
// A streaming scenario's iteration returns timeStream(stream): the engine measures time to first chunk.
export { timeStream } from './scenarios/stream-timing.js';
export type { StreamedIteration } from './scenarios/stream-timing.js';
export type { AgentTarget, Scenario, ScenarioContext, ScenarioDefinition } from './scenarios/types.js';

// The project config, typed: `export default defineConfig({ ... })` in agentperf.config.ts.
export { defineConfig } from './config/project.js';
export type { ProjectConfigInput as AgentperfConfig } from './config/project.js';

// Profiling from code: a CPU profile around any function, and the tables made from it.
export { CpuProfiler, withCpuProfile } from './profiling/cpu.js';
export type { CpuProfile, CpuProfilerOptions } from './profiling/cpu.js';
export { findBottlenecks, foldedStacks } from './profiling/analyze.js';
export type { Bottlenecks, FunctionCost } from './profiling/analyze.js';

// Errors: one base class, stable codes.
export {
  AbortedError,
  AgentperfError,
  CachePathError,
  CacheSecretError,
  CircuitOpenError,
  ClosedError,
  ConfigError,
  ControlCharacterError,
  EmptyTaskError,
  ErrorCode,
  errorType,
  HttpStatusError,
  InvalidAgentNameError,
  ParameterRangeError,
  QueueFullError,
  ScenarioExitError,
  ScenarioSetupError,
  StreamInterruptedError,
  TaskTooLongError,
  TimeoutError,
  UnknownAgentError,
  UnknownModelError,
  UpstreamError,
  UsageError,
  ValidationError,
} from './errors.js';
export type { ExitCode, TimeoutKind } from './errors.js';

// What the commands write as JSON, typed.
export type { LoadReport, LoadShape } from './load/run.js';
export type { GateResult, ScenarioGate } from './gate/run.js';
export type { Judgement, MetricVerdict, Verdict } from './gate/verdict.js';
export type { Baseline } from './gate/baseline.js';
export type { BlockResult } from './measure/block.js';
export type { LeakReport } from './profiling/leak.js';
export type { ProfileIndex } from './profiling/profile-run.js';
export type { RunRecord } from './pipeline/record.js';
