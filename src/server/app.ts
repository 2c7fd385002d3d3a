import Fastify, { type FastifyError, type FastifyInstance, type FastifyReply } from 'fastify';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { z } from 'zod';
import { describeIssue } from '../config/read.js';
import { AgentperfError, ErrorCode, ValidationError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { ExecuteOptions, Orchestrator } from '../orchestrator/orchestrator.js';
import type { HdrSnapshot } from '../stats/hdr.js';
import type { WorkflowService } from '../workflow/service.js';
import { accessHook, type AccessRules } from './access.js';
import { jsonDepth, MAX_JSON_DEPTH } from '../config/json-depth.js';
import { inCallerTrace, publishHttpServerEvents } from './trace-context.js';
import { errorBody, statusFor } from './error-status.js';
import { relayStream } from './stream-route.js';
import { registerWorkflowRoutes } from './workflow-routes.js';

/** The body of `POST /v1/agents/:agent/execute`. */
export const ExecuteBody = z
  .object({
    task: z.string(),
    cache: z.enum(['default', 'bypass', 'refresh']).optional(),
    maxTokens: z.number().int().positive().optional(),
    temperature: z.number().min(0).max(1).optional(),
    timeoutMs: z.number().int().min(1).max(600_000).optional(),
  })
  .strict();

/** The task and options of an execute or stream body; a body that breaks a rule is a 400 naming the field (the error handler). */
function executeCall(body: unknown): { task: string; options: ExecuteOptions } {
  const parsed = ExecuteBody.safeParse(body);
  if (!parsed.success) {
    const issue = describeIssue(parsed.error, body, 'the body');
    throw new ValidationError(ErrorCode.VALIDATION, issue.field, issue.message);
  }
  const { task, cache, maxTokens, temperature, timeoutMs } = parsed.data;
  return { task, options: { cache, maxTokens, temperature, deadlineMs: timeoutMs } };
}

export interface ServerOptions {
  orchestrator: Orchestrator;
  /** In-process HDR snapshots for `GET /stats` (empty where nothing records them). */
  stats: () => HdrSnapshot | Record<string, never>;
  /** Serves the Prometheus text (the OpenTelemetry exporter's handler). */
  metricsHandler?: (request: IncomingMessage, response: ServerResponse) => void;
  /** The workflow API (`/v1/workflows`, `/v1/events`), when given. */
  workflows?: WorkflowService;
  /** Largest request body accepted, in bytes. Default 1 MiB. */
  bodyLimitBytes?: number;
  /** Who may call (a token, loopback Host names); default: no token, any Host. */
  access?: AccessRules;
  /** Connection limits; each defaults to `DEFAULT_TIMEOUTS`. */
  timeouts?: Partial<ServerTimeouts>;
  logger: Logger;
}

/**
 * How long a connection may take, in ms. A client sending its request slowly (slowloris) is
 * cut off by `headersMs` and `requestMs`; an idle keep-alive connection by `keepAliveMs`; a
 * connection silent for `idleMs` (longer than the longest agent call, 10 minutes) is dead.
 * Event streams send a comment every 15 s, so they are never idle.
 */
export interface ServerTimeouts {
  headersMs: number;
  requestMs: number;
  keepAliveMs: number;
  idleMs: number;
}

export const DEFAULT_TIMEOUTS: ServerTimeouts = { headersMs: 10_000, requestMs: 30_000, keepAliveMs: 5_000, idleMs: 11 * 60_000 };

/**
 * Errors of the HTTP parser, before any route (malformed requests, oversized headers, a
 * request too slow): answered with the same error contract, then the connection is closed.
 */
function answerClientError(error: NodeJS.ErrnoException, socket: Socket): void {
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  const [status, reason, code, message] =
    error.code === 'HPE_HEADER_OVERFLOW'
      ? [431, 'Request Header Fields Too Large', ErrorCode.HEADERS_TOO_LARGE, 'request headers must fit in 16 KiB']
      : error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? [408, 'Request Timeout', ErrorCode.REQUEST_TIMEOUT, 'the request was not received in time']
        : [400, 'Bad Request', ErrorCode.BAD_REQUEST, `malformed HTTP request (${error.code ?? 'parse error'})`];
  const body = JSON.stringify(errorBody(code, message, status === 431 ? 'headers' : 'request'));
  socket.end(
    `HTTP/1.1 ${status} ${reason}\r\ncontent-type: application/json; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
  );
}

/** How much of an oversized body is read (and discarded) so that its sender gets the 413; beyond it, the connection is closed. */
export const MAX_DRAINED_BYTES = 64 * 1024 * 1024;

/** Reads and discards the rest of a request's body, up to `limit` bytes, or until it ends or closes. */
function drained(raw: IncomingMessage, limit: number): Promise<void> {
  if (raw.complete || raw.destroyed) return Promise.resolve();
  return new Promise((resolve) => {
    let seen = 0;
    const done = () => {
      raw.off('data', onData);
      raw.off('end', done);
      raw.off('close', done);
      resolve();
    };
    const onData = (chunk: Buffer) => {
      seen += chunk.length;
      if (seen > limit) done();
    };
    raw.on('data', onData);
    raw.once('end', done);
    raw.once('close', done);
    raw.resume();
  });
}

/**
 * The HTTP app behind `agentperf serve`: agents over HTTP for load tests and for users, with
 * health, HDR statistics and Prometheus metrics beside them.
 */
export function buildServer(options: ServerOptions): FastifyInstance {
  const timeouts = { ...DEFAULT_TIMEOUTS, ...options.timeouts };
  const app = Fastify({
    bodyLimit: options.bodyLimitBytes ?? 1024 * 1024,
    logger: false,
    return503OnClosing: true,
    requestTimeout: timeouts.requestMs,
    keepAliveTimeout: timeouts.keepAliveMs,
    connectionTimeout: timeouts.idleMs,
    http: { headersTimeout: Math.min(timeouts.headersMs, timeouts.requestMs), connectionsCheckingInterval: Math.min(5_000, timeouts.headersMs) },
    // The router's own refusals, in the error contract like every other.
    frameworkErrors: (error, _request, untypedReply) => {
      const reply = untypedReply as FastifyReply;
      if (error.code === 'FST_ERR_MAX_PARAM_LENGTH')
        reply.code(414).send(errorBody(ErrorCode.URI_TOO_LONG, 'a path parameter must be at most 100 characters', 'url'));
      else if (error.code === 'FST_ERR_BAD_URL')
        reply.code(400).send(errorBody(ErrorCode.BAD_REQUEST, 'the request URL is malformed (bad percent-encoding)', 'url'));
      else reply.code(500).send(errorBody(ErrorCode.INTERNAL, 'internal error'));
    },
    clientErrorHandler: answerClientError,
  });

  // JSON only: a text/plain body is the documented 415, never parsed as a string and then
  // refused by the schema as a 400. Bodies are checked for depth before they are parsed.
  app.removeContentTypeParser(['application/json', 'text/plain']);
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    const text = body as string;
    if (jsonDepth(text, MAX_JSON_DEPTH) > MAX_JSON_DEPTH) {
      done(new ValidationError(ErrorCode.BAD_JSON, 'body', `request body must be nested at most ${MAX_JSON_DEPTH} deep`), undefined);
      return;
    }
    // It answers through `done`; nothing to await.
    void parseJson(request, text, done);
  });
  publishHttpServerEvents(app);
  if (options.access) app.addHook('onRequest', accessHook(options.access));

  app.setErrorHandler(async (error: FastifyError, request, reply) => {
    // Fastify's own errors (body too large, bad JSON, wrong content type) keep their status.
    if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
      // Answered once the client has sent its body (up to a bound): answered mid-upload, the
      // connection closes under the client, which sees a reset instead of the 413.
      await drained(request.raw, MAX_DRAINED_BYTES);
      return reply.code(413).send(errorBody(ErrorCode.BODY_TOO_LARGE, `request body must be at most ${options.bodyLimitBytes ?? 1024 * 1024} bytes`, 'body'));
    }
    if (error.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE')
      return reply.code(415).send(errorBody(ErrorCode.MEDIA_TYPE, 'request body must be application/json', 'content-type'));
    if (error.code === 'FST_ERR_CTP_EMPTY_JSON_BODY')
      return reply.code(400).send(errorBody(ErrorCode.VALIDATION, 'request body must be a JSON object, not empty', 'body'));
    if (error instanceof AgentperfError)
      return reply.code(statusFor(error)).send(errorBody(error.code, error.message, (error as Partial<ValidationError>).field));
    if (error.statusCode === 400) return reply.code(400).send(errorBody(ErrorCode.BAD_JSON, `request body must be valid JSON: ${error.message}`, 'body'));
    options.logger.error({ err: error }, 'unexpected error serving a request');
    return reply.code(500).send(errorBody(ErrorCode.INTERNAL, 'internal error'));
  });

  app.setNotFoundHandler((request, reply) => reply.code(404).send(errorBody(ErrorCode.NOT_FOUND, `no route ${request.method} ${request.url.split('?')[0]}`)));

  app.post<{ Params: { agent: string } }>('/v1/agents/:agent/execute', async (request) => {
    const { task, options: call } = executeCall(request.body);
    return inCallerTrace(request, () => options.orchestrator.executeAgent(request.params.agent, task, call));
  });

  // The same call streamed: server-sent events as the Messages API writes them, then the result.
  app.post<{ Params: { agent: string } }>('/v1/agents/:agent/stream', async (request, reply) => {
    const { task, options: call } = executeCall(request.body);
    await relayStream(
      inCallerTrace(request, () => options.orchestrator.executeAgentStream(request.params.agent, task, call)),
      reply,
    );
  });

  // eslint-disable-next-line @typescript-eslint/require-await -- fastify sends what an async handler returns
  app.get('/healthz', async () => ({ status: 'ok' }));

  // eslint-disable-next-line @typescript-eslint/require-await -- fastify sends what an async handler returns
  app.get('/stats', async () => ({ latency: options.stats(), counters: options.orchestrator.stats() }));

  app.get('/metrics', (request, reply) => {
    if (!options.metricsHandler) return reply.code(404).send(errorBody(ErrorCode.NOT_FOUND, 'metrics are not enabled'));
    reply.hijack();
    options.metricsHandler(request.raw, reply.raw);
  });

  if (options.workflows) {
    const workflows = options.workflows;
    registerWorkflowRoutes(app, workflows);
    // Before the server stops accepting: open event streams would otherwise hold it open.
    app.addHook('preClose', async () => workflows.close());
  }

  return app;
}
