/**
 * The one place an agent stack is assembled: a provider (the embedded simulator, the real API,
 * an in-process answerer, or one the caller built), a response cache (memory, memory in front
 * of the signed disk tier, or none) and the orchestrator on top, optionally reported to a
 * running instrumentation. Every command, scenario and benchmark that runs agents builds it
 * here, so a change to how the parts fit lands everywhere at once.
 */
import { delimiter } from 'node:path';
import { DEFAULT_CACHE_DIR, DEFAULT_CACHE_ROOT } from './cache/path-safety.js';
import { RedisTier } from './cache/redis-tier.js';
import { ResponseCache, type TierFactory } from './cache/response-cache.js';
import { RedisLink, validateRedisOptions, type RedisSpec } from './redis/link.js';
import { InstanceCount, SharedModelRateLimiter } from './redis/shared-rate-limit.js';
import { RedisSingleFlight } from './redis/single-flight.js';
import { systemClock } from './clock.js';
import type { AgentConfig } from './config/agents.js';
import { rootLogger, type Logger } from './logger.js';
import { Orchestrator, type OrchestratorOptions } from './orchestrator/orchestrator.js';
import { createInProcessProvider } from './providers/in-process.js';
import { parseFaults, type FaultPlan } from './providers/simulator/faults.js';
import { parseLatency, type LatencySettings } from './providers/simulator/latency.js';
import { parseLimits, type OrgLimits } from './providers/simulator/limits.js';
import type { SimulatorOptions } from './providers/simulator/server.js';
import { setupProvider } from './providers/setup.js';
import type { MessagesProvider } from './providers/types.js';

/** The embedded simulator's settings; latency and faults as specs (`lognormal:40,250`, `429:0.02`) or parsed. */
export interface SimulatorChoice extends Omit<SimulatorOptions, 'latency' | 'faults' | 'limits'> {
  latency?: string | LatencySettings;
  faults?: string | Partial<FaultPlan>;
  /** `rpm=50,itpm=40000,otpm=8000`, or parsed. */
  limits?: string | OrgLimits;
  /**
   * `worker` (default): in a worker thread, so it never shares the event loop of whatever
   * drives the orchestrator (a load generator, a profiler). `main`: in this thread.
   */
  thread?: 'worker' | 'main';
}

export type ProviderSpec =
  /** The embedded simulator (the default): no key, no network. */
  | { kind: 'simulator'; simulator?: SimulatorChoice }
  /** The real Messages API; needs ANTHROPIC_API_KEY. */
  | { kind: 'live' }
  /** Answers at once in this thread: the floor for measuring the orchestrator itself. */
  | { kind: 'in-process' }
  /** A provider the caller built; the orchestrator closes it, as it closes its own. */
  | { kind: 'given'; provider: MessagesProvider };

/** `--live` chooses the real API; otherwise the embedded simulator with these settings. */
export function providerFor(live: boolean | undefined, simulator?: SimulatorChoice): ProviderSpec {
  return live ? { kind: 'live' } : { kind: 'simulator', simulator };
}

export type CacheSpec =
  /** Memory only (the default): nothing on disk, no secret needed (unless Redis is added). */
  | { kind: 'memory'; maxBytes?: number; redis?: RedisSpec; env?: NodeJS.ProcessEnv }
  /** Memory in front of the signed disk tier (and Redis after it, when given). */
  | { kind: 'disk'; dir?: string; requireSecret?: boolean; redis?: RedisSpec; env?: NodeJS.ProcessEnv }
  | { kind: 'none' };

export interface StackOptions {
  agents: readonly AgentConfig[];
  provider?: ProviderSpec;
  cache?: CacheSpec;
  /** Everything else the orchestrator takes (maxConcurrent, maxQueued, deadlines, ...). */
  orchestrator?: Omit<OrchestratorOptions, 'agents' | 'provider' | 'cache' | 'logger'>;
  /** Keep-alive sockets to the provider; default from maxConcurrent (16 to 1,024). */
  connections?: number;
  /** A running instrumentation that should see this stack's cache (entries and bytes by tier). */
  instrumentation?: { observeCache(cache: ResponseCache): void; observeOrchestrator?(orchestrator: Orchestrator): void };
  /** Wraps the provider before the orchestrator gets it (the self-test adds CPU to every upstream call this way). */
  decorateProvider?: (provider: MessagesProvider) => MessagesProvider;
  logger?: Logger;
}

export interface Stack {
  orchestrator: Orchestrator;
  cache: ResponseCache | undefined;
  /** Where calls go: the simulator's URL, the API's, or `in-process`. */
  target: string;
  /** Closes the orchestrator, the cache and the provider (and the simulator, if one was started). */
  close(): Promise<void>;
}

/**
 * The roots a disk cache directory may lie under: ~/.cache/agentperf, plus any listed in
 * AGENTPERF_CACHE_ROOTS (separated like PATH).
 */
export function allowedCacheRoots(env: NodeJS.ProcessEnv = process.env): string[] {
  return [DEFAULT_CACHE_ROOT, ...(env.AGENTPERF_CACHE_ROOTS ?? '').split(delimiter).filter(Boolean)];
}

/**
 * Opens the response cache a spec asks for (undefined for `none`). Its Redis tier uses `link`
 * when given (the stack's, shared with the rate limits), else a link of its own.
 */
export async function openCache(spec: CacheSpec, logger: Logger = rootLogger, link?: RedisLink): Promise<ResponseCache | undefined> {
  switch (spec.kind) {
    case 'none':
      return undefined;
    case 'memory':
      return ResponseCache.open({
        logger,
        memoryMaxBytes: spec.maxBytes,
        ...(spec.redis ? { tiers: [redisTierFactory(spec.redis, logger, link)], secret: { env: spec.env ?? process.env } } : {}),
      });
    case 'disk': {
      const env = spec.env ?? process.env;
      return ResponseCache.open({
        logger,
        disk: { dir: spec.dir ?? DEFAULT_CACHE_DIR, allowedRoots: allowedCacheRoots(env), requireSecret: spec.requireSecret, env },
        ...(spec.redis ? { tiers: [redisTierFactory(spec.redis, logger, link)] } : {}),
      });
    }
  }
}

/** The Redis tier, on the given link or one of its own (closed with the tier). Bad options throw here, before anything connects. */
function redisTierFactory(spec: RedisSpec, logger: Logger, link?: RedisLink): TierFactory {
  validateRedisOptions(spec);
  return async ({ signer, onEvent, maxEntryBytes }) =>
    RedisTier.open({ link: link ?? RedisLink.open({ ...spec, logger }), ownsLink: link === undefined, signer, onEvent, now: Date.now, logger, maxEntryBytes });
}

function simulatorOptions(choice: SimulatorChoice = {}): SimulatorOptions {
  const { latency, faults, limits, thread: _, ...rest } = choice;
  return {
    ...rest,
    ...(limits === undefined ? {} : { limits: typeof limits === 'string' ? parseLimits(limits) : limits }),
    latency: typeof latency === 'string' ? parseLatency(latency) : latency,
    faults: typeof faults === 'string' ? (faults ? parseFaults(faults) : undefined) : faults,
  };
}

async function openProvider(
  spec: ProviderSpec,
  connections: number,
  logger: Logger,
): Promise<{ provider: MessagesProvider; target: string; stop(): Promise<void>; owned: boolean }> {
  switch (spec.kind) {
    case 'given':
      return { provider: spec.provider, target: spec.provider.name, stop: async () => {}, owned: false };
    case 'in-process':
      return { provider: createInProcessProvider(), target: 'in-process', stop: async () => {}, owned: true };
    case 'live':
    case 'simulator': {
      const setup = await setupProvider({
        live: spec.kind === 'live',
        simulator: spec.kind === 'simulator' ? simulatorOptions(spec.simulator) : undefined,
        simulatorInWorker: spec.kind === 'simulator' && spec.simulator?.thread !== 'main',
        connections,
        logger,
      });
      return { ...setup, owned: true };
    }
  }
}

/** Builds the stack. Whatever it opened is closed again if a later part fails to open. */
export async function openStack(options: StackOptions): Promise<Stack> {
  const logger = options.logger ?? rootLogger;
  const connections = options.connections ?? Math.min(1024, Math.max(16, options.orchestrator?.maxConcurrent ?? 10));
  const cacheSpec = options.cache ?? { kind: 'memory' };
  const redisSpec = cacheSpec.kind === 'none' ? undefined : cacheSpec.redis;
  if (redisSpec) validateRedisOptions(redisSpec);
  const opened = await openProvider(options.provider ?? { kind: 'simulator' }, connections, logger);
  // One link to the shared Redis: the cache's tier and the models' rate limits.
  const link = redisSpec && RedisLink.open({ ...redisSpec, logger });
  const instances = link && options.orchestrator?.rateLimits ? new InstanceCount(link) : undefined;
  const closeShared = async () => {
    instances?.close();
    await link?.close();
  };
  let cache: ResponseCache | undefined;
  let orchestrator: Orchestrator;
  try {
    cache = await openCache(cacheSpec, logger, link);
    if (cache) options.instrumentation?.observeCache(cache);
    const provider = options.decorateProvider ? options.decorateProvider(opened.provider) : opened.provider;
    orchestrator = new Orchestrator({
      ...options.orchestrator,
      agents: options.agents,
      provider,
      cache,
      logger,
      ...(link && instances ? { rateGate: (model, limit, clock) => new SharedModelRateLimiter({ link, instances, model, limit, clock, logger }) } : {}),
      ...(link && cache
        ? {
            crossInstance: new RedisSingleFlight({
              link,
              read: (key) => cache!.fromSharedTier('redis', key),
              clock: options.orchestrator?.clock ?? systemClock,
            }),
          }
        : {}),
    });
  } catch (error) {
    await cache?.close();
    await closeShared();
    if (opened.owned) await opened.provider.close({ force: true });
    await opened.stop();
    throw error;
  }
  options.instrumentation?.observeOrchestrator?.(orchestrator);
  return {
    orchestrator,
    cache,
    target: opened.target,
    async close() {
      await orchestrator.close();
      await cache?.close();
      await closeShared();
      await opened.stop();
    },
  };
}
