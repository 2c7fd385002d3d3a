import { Command } from 'commander';
import type { AddressInfo } from 'node:net';
import { startInstrumentation } from '../../instrumentation/start.js';
import { redisSettings, simulatorSettings } from '../config/project.js';
import { STANDARD_LATENCY } from '../scenarios/agent.js';
import { rootLogger } from '../logger.js';
import { readFile, stat } from 'node:fs/promises';
import { ListenError, UsageError } from '../errors.js';
import { isLoopbackAddress, type AccessRules } from '../server/access.js';
import { buildServer, DEFAULT_TIMEOUTS, type ServerTimeouts } from '../server/app.js';
import { providerFor } from '../stack.js';
import { parseBytes, parseDurationMs, parseIntegerOption } from '../units.js';
import { orchestratorRunner } from '../workflow/execute.js';
import { WorkflowService } from '../workflow/service.js';
import { openCommandStack } from './command-stack.js';
import { parseSeed, print, progressToStderr, untilInterrupted, withStackFlags } from './options.js';

/** Where to listen, what to serve, and the agent stack behind it. */
export interface ServeOptions {
  host: string;
  port: number;
  agentsFile?: string;
  bodyLimitBytes: number;
  /** Simulator latency and faults specs (see parseLatency, parseFaults); default from the project's config. */
  latency?: string;
  faults?: string;
  seed?: number;
  live?: boolean;
  /** `--redis`: the shared cache tier's URL (else AGENTPERF_REDIS_URL, else the project config's). */
  redis?: string;
  maxConcurrent: number;
  maxQueued: number;
  /** File holding the bearer token (else AGENTPERF_SERVE_TOKEN). */
  tokenFile?: string;
  /** Listen beyond loopback without a token (logged loudly). */
  insecureNoAuth?: boolean;
  /** `/metrics` and `/stats` without the token. */
  publicMetrics?: boolean;
  timeouts?: Partial<ServerTimeouts>;
  env?: NodeJS.ProcessEnv;
}

/** A token shorter than this is guessable; 32 random bytes base64url-encoded are 43 characters. */
export const MIN_TOKEN_CHARS = 16;

async function readToken(options: Pick<ServeOptions, 'tokenFile' | 'env'>): Promise<string | undefined> {
  if (options.tokenFile) {
    const info = await stat(options.tokenFile).catch((error: NodeJS.ErrnoException) => {
      throw new UsageError('token-file', `cannot read the token file ${options.tokenFile} (${error.code})`);
    });
    if (!info.isFile()) throw new UsageError('token-file', `the token file ${options.tokenFile} must be a regular file`);
    // As ssh refuses a private key others can read (and the cache secret file here): a token
    // others can read or write is a token others can use or replace.
    if ((info.mode & 0o077) !== 0 && (options.env ?? process.env).AGENTPERF_SERVE_TOKEN_ALLOW_LOOSE_MODE !== '1') {
      const mode = (info.mode & 0o777).toString(8).padStart(4, '0');
      throw new UsageError(
        'token-file',
        `the token file ${options.tokenFile} must be readable and writable by its owner only (its mode is ${mode}): chmod 600 ${options.tokenFile}, or set AGENTPERF_SERVE_TOKEN_ALLOW_LOOSE_MODE=1 to use it anyway`,
      );
    }
    const token = (await readFile(options.tokenFile, 'utf8')).trim();
    if (token.length < MIN_TOKEN_CHARS)
      throw new UsageError('token-file', `the token in ${options.tokenFile} must be at least ${MIN_TOKEN_CHARS} characters (e.g. openssl rand -base64 32)`);
    return token;
  }
  const fromEnv = (options.env ?? process.env).AGENTPERF_SERVE_TOKEN?.trim();
  if (fromEnv === undefined || fromEnv === '') return undefined;
  if (fromEnv.length < MIN_TOKEN_CHARS)
    throw new UsageError('AGENTPERF_SERVE_TOKEN', `AGENTPERF_SERVE_TOKEN must be at least ${MIN_TOKEN_CHARS} characters (e.g. openssl rand -base64 32)`);
  return fromEnv;
}

/**
 * Who may call: beyond loopback a bearer token is required (the server refuses to start
 * without one unless `--insecure-no-auth`); on loopback a token is optional and the Host must
 * name loopback (DNS rebinding).
 */
export async function accessFor(options: Pick<ServeOptions, 'host' | 'tokenFile' | 'insecureNoAuth' | 'publicMetrics' | 'env'>): Promise<AccessRules> {
  const loopback = isLoopbackAddress(options.host);
  const token = await readToken(options);
  if (!loopback && token === undefined && !options.insecureNoAuth) {
    throw new UsageError(
      'host',
      `serve listens beyond loopback on ${options.host}: every route but /healthz needs a bearer token. Give one with --token-file FILE or AGENTPERF_SERVE_TOKEN, or say --insecure-no-auth to serve anyone who can reach the port (agent calls with --live are paid with your API key)`,
    );
  }
  return { ...(token === undefined ? {} : { token }), loopback, publicMetrics: options.publicMetrics ?? false };
}

export interface RunningServer {
  url: string;
  close(): Promise<void>;
}

/**
 * `agentperf serve`: the orchestrator (on the simulator, or the API with --live) behind a
 * fastify app, instrumented, with /metrics served by the same app.
 */
export async function run(options: ServeOptions): Promise<RunningServer> {
  const log = rootLogger.child({ component: 'serve' });
  // Checked before anything starts: a refused start leaves nothing running.
  const access = await accessFor(options);
  if (access.token === undefined && !access.loopback) {
    log.warn(
      { host: options.host },
      'INSECURE: serving without authentication beyond loopback (--insecure-no-auth): anyone who can reach this port can call the agents, and with --live spend your API key',
    );
  }
  const opened = await openCommandStack({
    agentsFile: options.agentsFile,
    instrumentation: () => startInstrumentation({ prometheus: false, logger: log }),
    stack: (project) => ({
      provider: providerFor(options.live, { ...simulatorSettings(project, options, { latency: STANDARD_LATENCY, seed: 1 }), latencyFrom: 'request' }),
      orchestrator: {
        maxConcurrent: options.maxConcurrent,
        maxQueued: options.maxQueued,
        modelPrices: project.config.models,
        rateLimits: project.config.rateLimits,
      },
      cache: { kind: 'memory', redis: redisSettings(project, options, options.env) },
      logger: log,
    }),
  });
  const { stack, instrumentation, agents } = opened;
  const app = buildServer({
    orchestrator: stack.orchestrator,
    workflows: new WorkflowService(
      orchestratorRunner(stack.orchestrator),
      {},
      agents.map((a) => a.name),
    ),
    stats: () => instrumentation.hdr.snapshot(),
    metricsHandler: instrumentation.prometheusHandler,
    bodyLimitBytes: options.bodyLimitBytes,
    access,
    timeouts: options.timeouts,
    logger: log,
  });
  try {
    await app.listen({ host: options.host, port: options.port });
  } catch (error) {
    await app.close().catch(() => {});
    await opened.close();
    throw new ListenError('serve', '--port', options.host, options.port, error);
  }
  const address = app.server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const url = `http://${host}:${address.port}`;
  log.info({ url, target: stack.target }, 'agentperf serve listening');
  return {
    url,
    async close() {
      await app.close();
      await opened.close();
    },
  };
}

/** The flags as commander parses them (its action's options are untyped). */
interface ServeFlags {
  agents?: string;
  bodyLimit: string;
  faults?: string;
  headersTimeout: string;
  host: string;
  idleTimeout: string;
  insecureNoAuth?: boolean;
  keepAliveTimeout: string;
  latency?: string;
  live?: boolean;
  maxConcurrent: string;
  maxQueued: string;
  port: string;
  publicMetrics?: boolean;
  redis?: string;
  requestTimeout: string;
  seed?: string;
  tokenFile?: string;
}

export const command = withStackFlags(
  new Command('serve').description('serve the agents over HTTP (POST /v1/agents/:agent/execute, GET /healthz, /stats, /metrics)'),
  {
    agents: true,
    latency: { project: STANDARD_LATENCY },
    faults: { project: 'none' },
    seed: { project: '1' },
    redis: true,
    live: true,
  },
)
  .option('--host <host>', 'address to bind', '127.0.0.1')
  .option('--port <n>', 'port to listen on (0: any free port)', '8080')
  .option('--max-concurrent <n>', 'upstream calls in flight at once', '100')
  .option('--max-queued <n>', 'calls waiting for a slot; past it 503', '10000')
  .option('--body-limit <size>', 'largest request body (bytes, or 64kb, 1mb)', '1mb')
  .option('--token-file <file>', 'bearer token every route but /healthz requires (else AGENTPERF_SERVE_TOKEN); required beyond loopback')
  .option('--insecure-no-auth', 'listen beyond loopback without a token (anyone who can reach the port may call)')
  .option('--public-metrics', '/metrics and /stats without the token (for a Prometheus that sends none)')
  .option('--headers-timeout <duration>', 'time to receive the request headers', `${DEFAULT_TIMEOUTS.headersMs / 1000}s`)
  .option('--request-timeout <duration>', 'time to receive the whole request', `${DEFAULT_TIMEOUTS.requestMs / 1000}s`)
  .option('--keep-alive-timeout <duration>', 'how long an idle keep-alive connection stays open', `${DEFAULT_TIMEOUTS.keepAliveMs / 1000}s`)
  .option('--idle-timeout <duration>', 'a connection silent this long is closed (longer than the longest agent call)', `${DEFAULT_TIMEOUTS.idleMs / 60_000}m`)
  .action(async (opts: ServeFlags) => {
    const server = await run({
      host: opts.host,
      port: parseIntegerOption('port', opts.port, 0, 65_535),
      agentsFile: opts.agents,
      latency: opts.latency,
      faults: opts.faults,
      seed: opts.seed === undefined ? undefined : parseSeed(opts.seed),
      live: opts.live,
      redis: opts.redis,
      maxConcurrent: parseIntegerOption('max-concurrent', opts.maxConcurrent, 1, 100_000),
      maxQueued: parseIntegerOption('max-queued', opts.maxQueued, 0, 10_000_000),
      bodyLimitBytes: parseBytes('body-limit', opts.bodyLimit, 64, 64 * 1024 * 1024),
      tokenFile: opts.tokenFile,
      insecureNoAuth: opts.insecureNoAuth,
      publicMetrics: opts.publicMetrics,
      timeouts: {
        headersMs: timeoutOption('headers-timeout', opts.headersTimeout),
        requestMs: timeoutOption('request-timeout', opts.requestTimeout),
        keepAliveMs: timeoutOption('keep-alive-timeout', opts.keepAliveTimeout),
        idleMs: timeoutOption('idle-timeout', opts.idleTimeout),
      },
    });
    print(`agentperf serve listening on ${server.url} (POST /v1/agents/:agent/execute, GET /healthz, /stats, /metrics)`);
    // On stderr whatever the log level (the structured warning above can be silenced; this cannot).
    if (opts.insecureNoAuth)
      progressToStderr('WARNING: --insecure-no-auth: anyone who can reach this port can call the agents, and with --live spend your API key');
    await untilInterrupted();
    await server.close();
  });

/** A timeout from 100 ms to 1 hour: 0 ("unlimited") is what this guards against. */
function timeoutOption(field: string, text: string): number {
  const ms = parseDurationMs(field, text);
  if (ms < 100 || ms > 3_600_000) throw new UsageError(field, `${field} must be from 100ms to 1h, got ${JSON.stringify(text)}`);
  return ms;
}
