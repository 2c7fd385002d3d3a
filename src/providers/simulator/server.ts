import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { MODELS } from '../../config/models.js';
import { mulberry32 } from '../../random.js';
import type { MessageParams } from '../types.js';
import { drawFault, NO_FAULTS, type FaultPlan, type FaultType } from './faults.js';
import { requestLatencyMs, ZERO_LATENCY, type LatencySettings } from './latency.js';
import { answerFor, messageFor } from './respond.js';

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
}

export interface SimulatorStats {
  requests: number;
  responsesByStatus: Record<string, number>;
  faults: Partial<Record<FaultType, number>>;
  /** Requests whose client went away before the answer: what a working timeout produces. */
  clientAborts: number;
  inFlight: number;
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
  if (!Number.isInteger(b.max_tokens) || (b.max_tokens as number) < 1) return { error: [400, 'invalid_request_error', 'max_tokens: must be a positive integer'] };
  if ((b.max_tokens as number) > model.maxOutputTokens) return { error: [400, 'invalid_request_error', `max_tokens: ${b.max_tokens} > ${model.maxOutputTokens}, which is the maximum allowed for ${model.id}`] };
  if (!Array.isArray(b.messages) || b.messages.length === 0) return { error: [400, 'invalid_request_error', 'messages: at least one message is required'] };
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
export async function startSimulator(options: SimulatorOptions = {}): Promise<RunningSimulator> {
  const latency = options.latency ?? ZERO_LATENCY;
  const plan: FaultPlan = { ...NO_FAULTS, ...options.faults, schedule: [...(options.faults?.schedule ?? [])] };
  const random = mulberry32(options.seed ?? 1);
  const maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const stats: SimulatorStats = { requests: 0, responsesByStatus: {}, faults: {}, clientAborts: 0, inFlight: 0 };
  const sockets = new Set<Socket>();
  const timers = new Set<NodeJS.Timeout>();
  let sequence = 0;

  const count = (status: number) => {
    stats.responsesByStatus[status] = (stats.responsesByStatus[status] ?? 0) + 1;
  };

  const respond = (req: IncomingMessage, res: ServerResponse, raw: Buffer) => {
    const requestId = `req_sim_${(++sequence).toString(16).padStart(12, '0')}`;
    const idHeader = { 'request-id': requestId };
    let body: unknown;
    try {
      body = JSON.parse(raw.toString('utf8'));
    } catch {
      count(400);
      return sendJson(res, 400, apiError('invalid_request_error', 'request body is not valid JSON'), idHeader);
    }
    const { params, error } = validateBody(body);
    if (error) {
      count(error[0]);
      return sendJson(res, error[0], apiError(error[1], error[2]), idHeader);
    }
    const fault = drawFault(plan, random);
    if (fault) stats.faults[fault] = (stats.faults[fault] ?? 0) + 1;
    const answer = answerFor(params!);
    const delayMs = fault === 'hang' ? Infinity : requestLatencyMs(latency, options.latencyFrom ?? 'sequence', random, answer.requestSeed, options.seed ?? 1, fault ? 0 : answer.outputTokens);

    const finish = () => {
      switch (fault) {
        case 'reset':
          req.socket.destroy();
          return;
        case '429':
          count(429);
          return sendJson(res, 429, apiError('rate_limit_error', 'Number of request tokens has exceeded your per-minute rate limit (simulated)'), {
            ...idHeader,
            'retry-after': String(Math.ceil(plan.retryAfterMs / 1000)),
            'retry-after-ms': String(plan.retryAfterMs),
          });
        case 'malformed':
          count(200);
          res.writeHead(200, { 'content-type': 'application/json', ...idHeader });
          res.end('{"id":"msg_sim","type":"message","content":[{"type":"te');
          return;
        case undefined:
          count(200);
          return sendJson(res, 200, messageFor(params!, `msg_sim_${requestId.slice(8)}`, answer), idHeader);
        default: {
          const status = Number(fault);
          count(status);
          return sendJson(res, status, apiError(ERROR_TYPE_BY_STATUS[status]!, `${ERROR_TYPE_BY_STATUS[status]} (simulated ${status})`), idHeader);
        }
      }
    };

    if (delayMs === Infinity) return; // hang: the client's timeout must end it
    if (delayMs <= 0) return finish();
    const timer = setTimeout(() => {
      timers.delete(timer);
      if (!res.destroyed) finish();
    }, delayMs);
    timers.add(timer);
    res.once('close', () => {
      clearTimeout(timer);
      timers.delete(timer);
    });
  };

  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '').split('?')[0];
    if (req.method !== 'POST' || path !== '/v1/messages') {
      count(404);
      return sendJson(res, 404, apiError('not_found_error', `Not found: ${req.method} ${path}`));
    }
    if (!req.headers['x-api-key'] && !req.headers.authorization) {
      count(401);
      return sendJson(res, 401, apiError('authentication_error', 'x-api-key header is required'));
    }
    stats.requests++;
    stats.inFlight++;
    let answered = false;
    res.once('finish', () => { answered = true; });
    res.once('close', () => {
      stats.inFlight--;
      if (!answered) stats.clientAborts++;
    });
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBodyBytes) {
        count(413);
        sendJson(res, 413, apiError('request_too_large', `Request exceeds the maximum allowed number of bytes (${maxBodyBytes})`));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      if (!res.headersSent) respond(req, res, Buffer.concat(chunks));
    });
  });
  server.keepAliveTimeout = 60_000;
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://${options.host ?? '127.0.0.1'}:${port}`,
    port,
    stats: () => structuredClone(stats),
    scheduleFaults: (faults) => {
      plan.schedule.push(...faults);
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const timer of timers) clearTimeout(timer);
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
