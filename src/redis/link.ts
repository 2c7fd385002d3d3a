/**
 * One process's connection to the Redis that its instances share (the cache tier, and what
 * comes after it: shared rate limits, single-flight), through node-redis's core client
 * (`@redis/client`, without the modules of the `redis` package: nothing here needs them).
 *
 * Redis is an optimisation here, never a dependency of an agent call: every operation has a
 * small time budget (`timeoutMs`, 5 ms by default), a failure or a late answer is the caller's
 * to fall back from, and after `failureThreshold` failures in a row the link stops trying (it
 * is **down**) for a cooldown that doubles while probes fail (1 s to 30 s), then lets one
 * operation through as the probe. Commands are never queued while disconnected: they fail at
 * once, and the client reconnects in the background. Opening never waits for the server, so a
 * Redis that is down at start delays nothing.
 */
import { createClient, RESP_TYPES, type RedisClientType } from '@redis/client';
import { AgentperfError, ErrorCode, UsageError } from '../errors.js';
import { rootLogger, type Logger } from '../logger.js';

export interface RedisLinkOptions {
  /** `redis://[user:password@]host:port[/db]` or `rediss://` (TLS). */
  url: string;
  /** Prefix of every key, so tenants sharing one Redis never see each other's entries. Default `agentperf`. */
  namespace?: string;
  /** Each operation's budget in ms; past it the operation counts as failed. Default 5. */
  timeoutMs?: number;
  /** Failures in a row that take the link down. Default 3. */
  failureThreshold?: number;
  /** The first cooldown while down, in ms (doubling while probes fail, to at most 30 s). Default 1,000. */
  cooldownMs?: number;
  logger?: Logger;
  /** Injectable for tests. */
  now?: () => number;
}

/** What a user configures (`--redis`, AGENTPERF_REDIS_URL, the project config's `redis`). */
export type RedisSpec = Pick<RedisLinkOptions, 'url' | 'namespace' | 'timeoutMs'>;

export const DEFAULT_REDIS_TIMEOUT_MS = 5;

/**
 * The budget of coordination (a rate-limit take, a single-flight lease): the call is about to
 * wait or go upstream anyway, so it may wait this long for Redis (or the link's own, if longer)
 * before falling back, where a cache read may not.
 */
export const COORDINATION_BUDGET_MS = 250;
export const DEFAULT_REDIS_NAMESPACE = 'agentperf';
const MAX_COOLDOWN_MS = 30_000;
const NAMESPACE = /^[A-Za-z0-9_.-]{1,64}$/;

/**
 * Why an operation did not run or did not finish. On a call's path the caller falls back; a
 * maintenance command (`cache verify` on an unreachable Redis) exits 4 with it.
 */
export class RedisUnavailable extends AgentperfError {
  constructor(
    readonly reason: 'down' | 'offline' | 'timeout' | 'error',
    message: string,
    options?: { cause?: unknown },
  ) {
    super(ErrorCode.REDIS, message, options);
  }
}

export interface RedisLinkStats {
  /** Down: failures in a row, so not tried until the next probe. */
  state: 'up' | 'down';
  /** Whether the client is connected now. */
  connected: boolean;
  /** Operations that answered within their budget. */
  ok: number;
  /** Operations that threw (the server's error, or the connection's). */
  errors: number;
  /** Operations that outlasted their budget. */
  timeouts: number;
  /** Operations not sent: the link was down or not connected. */
  skipped: number;
  /** Times the link went down. */
  outages: number;
}

/** The options checked, each bad one named: a URL Redis can use, a namespace, positive budgets. */
export function validateRedisOptions(options: RedisLinkOptions): Required<Pick<RedisLinkOptions, 'url' | 'namespace' | 'timeoutMs'>> {
  let url: URL;
  try {
    url = new URL(options.url);
  } catch {
    throw new UsageError('redis', `redis must be a URL like redis://localhost:6379, got ${JSON.stringify(options.url)}`);
  }
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:')
    throw new UsageError('redis', `redis must be a redis:// or rediss:// URL, got ${JSON.stringify(url.protocol)}`);
  const namespace = options.namespace ?? DEFAULT_REDIS_NAMESPACE;
  if (!NAMESPACE.test(namespace))
    throw new UsageError('redis.namespace', `redis.namespace must be 1 to 64 letters, digits, _ . or -, got ${JSON.stringify(namespace)}`);
  const timeoutMs = options.timeoutMs ?? DEFAULT_REDIS_TIMEOUT_MS;
  if (!(Number.isFinite(timeoutMs) && timeoutMs > 0 && timeoutMs <= 60_000))
    throw new UsageError('redis.timeoutMs', `redis.timeoutMs must be a number of ms above 0 and at most 60000, got ${timeoutMs}`);
  return { url: options.url, namespace, timeoutMs };
}

/** Bulk strings as Buffers: entries are signed bytes, never text. */
type BufferReplies = { [RESP_TYPES.BLOB_STRING]: BufferConstructor };

/** The client, named (a type inferred from the options would not be portable into declarations). */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type -- node-redis's own defaults: no modules, functions or scripts
export type RedisClient = RedisClientType<{}, {}, {}, 2, BufferReplies>;

function makeClient(url: string): RedisClient {
  return createClient({
    url,
    // Fail at once while disconnected instead of queueing behind a dead socket.
    disableOfflineQueue: true,
    socket: {
      connectTimeout: 1_000,
      // Reconnect in the background, backing off to one try every 2 s.
      reconnectStrategy: (retries: number) => Math.min(50 * 2 ** retries, 2_000),
    },
  }).withTypeMapping({ [RESP_TYPES.BLOB_STRING]: Buffer });
}

export class RedisLink {
  readonly namespace: string;
  readonly timeoutMs: number;
  /** host:port, for messages (never the password). */
  readonly where: string;
  private readonly client: RedisClient;
  private readonly log: Logger;
  private readonly now: () => number;
  private readonly failureThreshold: number;
  private readonly firstCooldownMs: number;
  private readonly counts = { ok: 0, errors: 0, timeouts: 0, skipped: 0, outages: 0 };
  private failuresInRow = 0;
  private downUntil = 0;
  private cooldownMs: number;
  private probing = false;
  private connectionErrors = 0;
  private closed = false;
  private readonly readyHandlers: Array<() => void> = [];

  private constructor(options: RedisLinkOptions) {
    const valid = validateRedisOptions(options);
    this.namespace = valid.namespace;
    this.timeoutMs = valid.timeoutMs;
    this.where = new URL(valid.url).host;
    this.failureThreshold = options.failureThreshold ?? 3;
    this.firstCooldownMs = options.cooldownMs ?? 1_000;
    this.cooldownMs = this.firstCooldownMs;
    this.now = options.now ?? Date.now;
    this.log = (options.logger ?? rootLogger).child({ component: 'redis' });
    this.client = makeClient(valid.url);
    // Without a listener an 'error' event would end the process; a Redis that is down must not.
    this.client.on('error', (error: unknown) => {
      this.connectionErrors++;
      // The first error and every hundredth: a Redis that stays down must not flood the log.
      if (this.connectionErrors === 1 || this.connectionErrors % 100 === 0)
        this.log.warn({ err: error, errors: this.connectionErrors }, 'redis connection failed: calls go on without it, reconnecting in the background');
    });
    this.client.on('ready', () => {
      if (this.connectionErrors > 0) this.log.info({ after: this.connectionErrors }, 'redis connected again');
      this.connectionErrors = 0;
      for (const handler of this.readyHandlers) handler();
    });
  }

  /** Opens the link and starts connecting; never waits for the server. Throws only for bad options. */
  static open(options: RedisLinkOptions): RedisLink {
    const link = new RedisLink(options);
    link.client.connect().catch((error: unknown) => link.log.warn({ err: error }, 'redis connect gave up'));
    return link;
  }

  /** `namespace:part:part`. */
  key(...parts: string[]): string {
    return [this.namespace, ...parts].join(':');
  }

  /** Called on every (re)connection: what must be set up on a fresh server runs here. */
  onReady(handler: () => void): void {
    this.readyHandlers.push(handler);
    if (this.client.isReady) handler();
  }

  get isReady(): boolean {
    return this.client.isReady;
  }

  /** Resolves once connected, or after `withinMs` (then false). */
  async connected(withinMs: number): Promise<boolean> {
    const until = Date.now() + withinMs;
    while (!this.client.isReady && !this.closed && Date.now() < until) await new Promise((resolve) => setTimeout(resolve, 10));
    return this.client.isReady;
  }

  /**
   * Runs one operation within `budgetMs` (the link's budget by default). Throws RedisUnavailable
   * when the link is down, not connected, the operation failed or it ran late (its answer is then
   * dropped): the caller falls back.
   */
  async run<T>(operation: (client: RedisClient) => Promise<T>, budgetMs: number = this.timeoutMs): Promise<T> {
    this.admit();
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      // Timers run before the event loop reads its sockets: a reply that arrived while this
      // process was busy is read first (setImmediate runs after that), so a loaded client does
      // not take its own lag for a slow Redis.
      timer = setTimeout(() => setImmediate(() => reject(new RedisUnavailable('timeout', `redis gave no answer within ${budgetMs} ms`))), budgetMs);
    });
    try {
      const result = await Promise.race([operation(this.client), late]);
      this.succeeded();
      return result;
    } catch (error) {
      if (error instanceof RedisUnavailable) this.counts.timeouts++;
      else this.counts.errors++;
      this.failed();
      throw error instanceof RedisUnavailable ? error : new RedisUnavailable('error', `redis failed: ${(error as Error).message}`, { cause: error });
    } finally {
      clearTimeout(timer);
    }
  }

  /** `run` with the coordination budget (COORDINATION_BUDGET_MS, or the link's own if longer). */
  coordinate<T>(operation: (client: RedisClient) => Promise<T>): Promise<T> {
    return this.run(operation, Math.max(this.timeoutMs, COORDINATION_BUDGET_MS));
  }

  /** The same without a budget or the breaker: for maintenance (`cache verify`, `clear`), which may take long but must not hang on a dead server. */
  async maintain<T>(operation: (client: RedisClient) => Promise<T>, withinMs = 10_000): Promise<T> {
    if (!(await this.connected(withinMs))) throw new RedisUnavailable('offline', `redis at ${this.where} is not reachable (waited ${withinMs} ms)`);
    return operation(this.client);
  }

  stats(): RedisLinkStats {
    return { state: this.state(), connected: this.client.isReady, ...this.counts };
  }

  state(): 'up' | 'down' {
    return this.downUntil > 0 ? 'down' : 'up';
  }

  close(): Promise<void> {
    this.closed = true;
    // destroy(): close the socket without waiting on a server that may be gone.
    if (this.client.isOpen) this.client.destroy();
    return Promise.resolve();
  }

  private admit(): void {
    if (this.downUntil > 0) {
      if (this.now() < this.downUntil || this.probing) {
        this.counts.skipped++;
        throw new RedisUnavailable('down', 'redis is down: not tried until the next probe');
      }
      this.probing = true;
    }
    if (!this.client.isReady) {
      this.counts.skipped++;
      this.failed();
      throw new RedisUnavailable('offline', 'redis is not connected');
    }
  }

  private succeeded(): void {
    this.counts.ok++;
    this.failuresInRow = 0;
    if (this.downUntil > 0) this.log.info({ outages: this.counts.outages }, 'redis answers again: back in use');
    this.downUntil = 0;
    this.probing = false;
    this.cooldownMs = this.firstCooldownMs;
  }

  private failed(): void {
    this.failuresInRow++;
    const wasProbe = this.probing;
    this.probing = false;
    if (wasProbe) {
      // A failed probe: stay down, twice as long.
      this.cooldownMs = Math.min(this.cooldownMs * 2, MAX_COOLDOWN_MS);
      this.downUntil = this.now() + this.cooldownMs;
      return;
    }
    if (this.downUntil === 0 && this.failuresInRow >= this.failureThreshold) {
      this.counts.outages++;
      this.downUntil = this.now() + this.cooldownMs;
      this.log.warn({ failures: this.failuresInRow, cooldownMs: this.cooldownMs }, 'redis is down: calls go on without it until a probe answers');
    }
  }
}
