import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { MODELS } from '../../config/models.js';
import { mulberry32 } from '../../random.js';
import type { MessageParams } from '../types.js';
import { drawFault, isStreamFault, NO_FAULTS, type FaultPlan, type FaultType } from './faults.js';
import { requestLatencyMs, ZERO_LATENCY, type LatencySettings } from './latency.js';
import { answerFor, messageFor, type SimulatedAnswer } from './respond.js';
import { planStream, writeStream, type StreamTiming } from './stream.js';
import { RateLimitBuckets, type OrgLimits } from './limits.js';
import { inputTokensOf } from '../tokens.js';

export interface SimulatorOptions {
  port?: number;
  host?: string;
  latency?: LatencySettings;
  faults?: Partial<FaultPlan>;
  seed?: number;
  /** Request bodies over this are refused with 413, as the real API does. */
  maxBodyBytes?: number;
  /**
   * `sequence` (default): latencies are drawn in arrival order from the seeded generator.
   * `request`: each request's latency is drawn from a hash of the request itself, so the same
   * request always takes the same time, whatever order requests arrive in (what paired
   * benchmarks need: both sides do the same work).
   */
  latencyFrom?: 'sequence' | 'request';
  /** How streamed answers (`stream: true`) are paced: time to first token, output rate, where mid-stream faults strike. */
  streaming?: StreamTiming;
  /** An organisation's rate limits (429 with `retry-after`, `anthropic-ratelimit-*` headers); off by default. */
  limits?: OrgLimits;
  /** Requests in flight past this are answered 529 `overloaded_error`; off by default. */
  capacity?: number;
}

/** Requests refused by the organisation's limits (429), by limit, and past the capacity (529). */
export interface SimulatorRefusals {
  rpm: number;
  itpm: number;
  otpm: number;
  capacity: number;
}

/** Streamed answers (`stream: true`) by how they ended. */
export interface SimulatorStreamStats {
  started: number;
  /** Streams whose connection is still open. */
  open: number;
  completed: number;
  /** Ended by a mid-stream fault (stream_error, stream_reset, stream_stall, stream_malformed). */
  faulted: number;
  /** The client closed the connection before the last event: what a cancelled stream produces. */
  clientLeft: number;
}

export interface SimulatorStats {
  requests: number;
  responsesByStatus: Record<string, number>;
  faults: Partial<Record<FaultType, number>>;
  /** Requests whose client went away before the answer: what a working timeout produces. */
  clientAborts: number;
  inFlight: number;
  streams: SimulatorStreamStats;
  /** Requests refused by `limits` and `capacity` (faults drawn from `faults` are counted there). */
  refused: SimulatorRefusals;
  /** Requests admitted past the limits and the capacity (valid ones; faults drawn after). A bucket of N a minute admits at most N + N x minutes elapsed. */
  admitted: number;
}

export interface RunningSimulator {
  url: string;
  port: number;
  stats(): SimulatorStats;
  /** Queues faults for the next requests, in order (`ok` for a clean answer). */
  scheduleFaults(faults: Array<FaultType | 'ok'>): void;
  close(): Promise<void>;
}

/** The API's error type for each status a fault can produce (docs: "Errors", HTTP errors). */
const ERROR_TYPE_BY_STATUS: Record<number, string> = {
  400: 'invalid_request_error',
  401: 'authentication_error',
  403: 'permission_error',
  404: 'not_found_error',
  408: 'timeout_error',
  409: 'conflict_error',
  413: 'request_too_large',
  422: 'invalid_request_error',
  500: 'api_error',
  529: 'overloaded_error',
};

// 32 MiB: the Messages API's documented request size limit.
const DEFAULT_MAX_BODY_BYTES = 32 * 1024 * 1024;

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

function apiError(type: string, message: string) {
  return { type: 'error', error: { type, message } };
}

function validateBody(body: unknown): { params?: MessageParams; error?: [number, string, string] } {
  if (typeof body !== 'object' || body === null) return { error: [400, 'invalid_request_error', 'request body must be a JSON object'] };
  const b = body as Record<string, unknown>;
  if (typeof b.model !== 'string') return { error: [400, 'invalid_request_error', 'model: Field required'] };
  const model = MODELS.get(b.model);
  if (!model) return { error: [404, 'not_found_error', `model: ${b.model}`] };
  if (!Number.isInteger(b.max_tokens) || (b.max_tokens as number) < 1)
    return { error: [400, 'invalid_request_error', 'max_tokens: must be a positive integer'] };
  if ((b.max_tokens as number) > model.maxOutputTokens)
    return {
      error: [400, 'invalid_request_error', `max_tokens: ${b.max_tokens as number} > ${model.maxOutputTokens}, which is the maximum allowed for ${model.id}`],
    };
  if (!Array.isArray(b.messages) || b.messages.length === 0) return { error: [400, 'invalid_request_error', 'messages: at least one message is required'] };
  if (b.stream !== undefined && typeof b.stream !== 'boolean') return { error: [400, 'invalid_request_error', 'stream: Input should be a valid boolean'] };
  if (b.temperature !== undefined && !model.acceptsTemperature) return { error: [400, 'invalid_request_error', '`temperature` is deprecated for this model.'] };
  if (b.temperature !== undefined && (typeof b.temperature !== 'number' || b.temperature < 0 || b.temperature > 1)) {
    return { error: [400, 'invalid_request_error', 'temperature: must be between 0 and 1'] };
  }
  return { params: b as unknown as MessageParams };
}

/**
 * The embedded Messages API: enough of `POST /v1/messages` for the real SDK to use it through
 * `baseURL`, with a latency model and fault injection. Deterministic for a given seed.
 */
export function startSimulator(options: SimulatorOptions = {}): Promise<RunningSimulator> {
  return new MessagesSimulator(options).listen();
}

/**
 * The simulator by concern: routing and authentication, the bounded body, the answer (validate,
 * draw a fault and a latency), the delay before it, and the server's own lifecycle.
 */
class MessagesSimulator {
  private readonly latency: LatencySettings;
  private readonly plan: FaultPlan;
  private readonly random: () => number;
  private readonly maxBodyBytes: number;
  private readonly stats: SimulatorStats = {
    requests: 0,
    responsesByStatus: {},
    faults: {},
    clientAborts: 0,
    inFlight: 0,
    streams: { started: 0, open: 0, completed: 0, faulted: 0, clientLeft: 0 },
    refused: { rpm: 0, itpm: 0, otpm: 0, capacity: 0 },
    admitted: 0,
  };
  private readonly limits: RateLimitBuckets | undefined;
  private readonly sockets = new Set<Socket>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly server: Server;
  private sequence = 0;

  constructor(private readonly options: SimulatorOptions) {
    this.latency = options.latency ?? ZERO_LATENCY;
    this.plan = { ...NO_FAULTS, ...options.faults, schedule: [...(options.faults?.schedule ?? [])] };
    this.random = mulberry32(options.seed ?? 1);
    this.maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
    this.limits = options.limits && new RateLimitBuckets(options.limits);
    this.server = createServer((req, res) => this.route(req, res));
    this.server.keepAliveTimeout = 60_000;
    this.server.on('connection', (socket) => {
      this.sockets.add(socket);
      socket.once('close', () => this.sockets.delete(socket));
    });
  }

  async listen(): Promise<RunningSimulator> {
    const { server, options } = this;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve());
    });
    const { port } = server.address() as AddressInfo;
    return {
      url: `http://${options.host ?? '127.0.0.1'}:${port}`,
      port,
      stats: () => structuredClone(this.stats),
      scheduleFaults: (faults) => {
        this.plan.schedule.push(...faults);
      },
      close: () => this.close(),
    };
  }

  private close(): Promise<void> {
    return new Promise<void>((resolve) => {
      for (const timer of this.timers) clearTimeout(timer);
      for (const socket of this.sockets) socket.destroy();
      this.server.close(() => resolve());
    });
  }

  /** Only `POST /v1/messages`, and only with a key (any key), as the API asks. */
  private route(req: IncomingMessage, res: ServerResponse): void {
    const path = (req.url ?? '').split('?')[0];
    if (req.method !== 'POST' || path !== '/v1/messages') {
      this.count(404);
      return sendJson(res, 404, apiError('not_found_error', `Not found: ${req.method} ${path}`));
    }
    if (!req.headers['x-api-key'] && !req.headers.authorization) {
      this.count(401);
      return sendJson(res, 401, apiError('authentication_error', 'x-api-key header is required'));
    }
    this.track(res);
    this.readBody(req, res);
  }

  /** A request in flight until its response closes; a client that left before the answer is counted. */
  private track(res: ServerResponse): void {
    const { stats } = this;
    stats.requests++;
    stats.inFlight++;
    let answered = false;
    res.once('finish', () => {
      answered = true;
    });
    res.once('close', () => {
      stats.inFlight--;
      if (!answered) stats.clientAborts++;
    });
  }

  /** The body, up to the API's size limit (413 past it), then the answer. */
  private readBody(req: IncomingMessage, res: ServerResponse): void {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > this.maxBodyBytes) {
        this.count(413);
        sendJson(res, 413, apiError('request_too_large', `Request exceeds the maximum allowed number of bytes (${this.maxBodyBytes})`));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      if (!res.headersSent) this.respond(req, res, Buffer.concat(chunks));
    });
  }

  /** Validates the request, draws its fault and its latency, and answers once that has passed. */
  private respond(req: IncomingMessage, res: ServerResponse, raw: Buffer): void {
    const requestId = `req_sim_${(++this.sequence).toString(16).padStart(12, '0')}`;
    const idHeader = { 'request-id': requestId };
    let body: unknown;
    try {
      body = JSON.parse(raw.toString('utf8'));
    } catch {
      this.count(400);
      return sendJson(res, 400, apiError('invalid_request_error', 'request body is not valid JSON'), idHeader);
    }
    const { params, error } = validateBody(body);
    if (error) {
      this.count(error[0]);
      return sendJson(res, error[0], apiError(error[1], error[2]), idHeader);
    }
    const answer = answerFor(params!);
    // The capacity, then the organisation's limits, before anything else: as the API refuses.
    if (this.options.capacity !== undefined && this.stats.inFlight > this.options.capacity) {
      this.stats.refused.capacity++;
      this.count(529);
      return sendJson(res, 529, apiError('overloaded_error', 'Overloaded (simulated: more requests in flight than its capacity)'), idHeader);
    }
    const admission = this.limits?.admit(inputTokensOf(params!), answer.outputTokens);
    if (admission && !admission.ok) {
      this.stats.refused[admission.limit]++;
      this.count(429);
      return sendJson(res, 429, apiError('rate_limit_error', admission.message), { ...idHeader, ...admission.headers });
    }
    this.stats.admitted++;
    const limitHeaders = admission?.headers ?? {};
    const streamed = (body as { stream?: boolean }).stream === true;
    const drawn = drawFault(this.plan, this.random);
    // A mid-stream fault has no meaning for a whole answer: that request is answered normally.
    const fault = isStreamFault(drawn) && !streamed ? undefined : drawn;
    if (fault) this.stats.faults[fault] = (this.stats.faults[fault] ?? 0) + 1;
    if (fault === 'hang') return; // the client's timeout must end it
    const { options } = this;
    if (streamed && (fault === undefined || isStreamFault(fault))) return this.stream(res, params!, answer, { ...limitHeaders, ...idHeader }, fault);
    const delayMs = requestLatencyMs(
      this.latency,
      options.latencyFrom ?? 'sequence',
      this.random,
      answer.requestSeed,
      options.seed ?? 1,
      fault ? 0 : answer.outputTokens,
    );
    this.after(res, delayMs, () => this.send(req, res, fault, params!, answer, { ...limitHeaders, ...idHeader }));
  }

  /** A streamed answer, paced by the stream timing, ended early by a mid-stream fault. */
  private stream(res: ServerResponse, params: MessageParams, answer: SimulatedAnswer, headers: Record<string, string>, fault: FaultType | undefined): void {
    const requestId = headers['request-id'];
    const { options } = this;
    const random = options.latencyFrom === 'request' ? mulberry32(answer.requestSeed ^ (options.seed ?? 1)) : this.random;
    const plan = planStream(options.streaming ?? {}, this.latency, random);
    const { streams } = this.stats;
    streams.started++;
    streams.open++;
    const message = messageFor(params, `msg_sim_${requestId.slice(8)}`, answer);
    writeStream(res, message, plan, headers, isStreamFault(fault) ? fault : undefined, {
      schedule: (delayMs, run) => this.timer(delayMs, run),
      onHeaders: () => this.count(200),
      onEnd: (how) => {
        if (how === 'completed') streams.completed++;
        else if (how === 'fault') streams.faulted++;
        else streams.clientLeft++;
      },
    });
    res.once('close', () => streams.open--);
  }

  /** Runs `run` once `delayMs` has passed (at once for 0); returns what cancels it. */
  private timer(delayMs: number, run: () => void): () => void {
    if (delayMs <= 0) {
      run();
      return () => {};
    }
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      run();
    }, delayMs);
    this.timers.add(timer);
    return () => {
      clearTimeout(timer);
      this.timers.delete(timer);
    };
  }

  /** Runs `send` once `delayMs` has passed, unless the client left first. */
  private after(res: ServerResponse, delayMs: number, send: () => void): void {
    if (delayMs <= 0) return send();
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      if (!res.destroyed) send();
    }, delayMs);
    this.timers.add(timer);
    res.once('close', () => {
      clearTimeout(timer);
      this.timers.delete(timer);
    });
  }

  /** The answer, or the fault drawn for the request, as the API (or a broken network) would give it. */
  private send(
    req: IncomingMessage,
    res: ServerResponse,
    fault: FaultType | undefined,
    params: MessageParams,
    answer: SimulatedAnswer,
    idHeader: Record<string, string>,
  ): void {
    const requestId = idHeader['request-id'];
    switch (fault) {
      case 'reset':
        req.socket.destroy();
        return;
      case '429':
        this.count(429);
        return sendJson(res, 429, apiError('rate_limit_error', 'Number of request tokens has exceeded your per-minute rate limit (simulated)'), {
          ...idHeader,
          'retry-after': String(Math.ceil(this.plan.retryAfterMs / 1000)),
          'retry-after-ms': String(this.plan.retryAfterMs),
        });
      case 'malformed':
        this.count(200);
        res.writeHead(200, { 'content-type': 'application/json', ...idHeader });
        res.end('{"id":"msg_sim","type":"message","content":[{"type":"te');
        return;
      case undefined:
        this.count(200);
        return sendJson(res, 200, messageFor(params, `msg_sim_${requestId.slice(8)}`, answer), idHeader);
      default: {
        const status = Number(fault);
        this.count(status);
        return sendJson(res, status, apiError(ERROR_TYPE_BY_STATUS[status], `${ERROR_TYPE_BY_STATUS[status]} (simulated ${status})`), idHeader);
      }
    }
  }

  private count(status: number): void {
    this.stats.responsesByStatus[status] = (this.stats.responsesByStatus[status] ?? 0) + 1;
  }
}
