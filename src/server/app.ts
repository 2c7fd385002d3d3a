import Fastify, { type FastifyError, type FastifyInstance } from 'fastify';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod';
import { describeIssue } from '../config/read.js';
import { AgentperfError, ErrorCode, ValidationError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { Orchestrator } from '../orchestrator/orchestrator.js';
import type { PercentileSnapshot } from '../stats/hdr.js';
import type { WorkflowService } from '../workflow/service.js';
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

export interface ServerOptions {
  orchestrator: Orchestrator;
  /** In-process HDR snapshots for `GET /stats`. */
  stats: () => Record<string, PercentileSnapshot>;
  /** Serves the Prometheus text (the OpenTelemetry exporter's handler). */
  metricsHandler?: (request: IncomingMessage, response: ServerResponse) => void;
  /** The workflow API (`/v1/workflows`, `/v1/events`), when given. */
  workflows?: WorkflowService;
  /** Largest request body accepted, in bytes. Default 1 MiB. */
  bodyLimitBytes?: number;
  logger: Logger;
}

/** Orchestrator errors as HTTP statuses: the caller's fault is 4xx, the upstream's 5xx. */
function statusFor(error: AgentperfError): number {
  if (error.code === ErrorCode.UNKNOWN_AGENT || error.code === ErrorCode.NOT_FOUND) return 404;
  if (error.code === ErrorCode.CONFLICT) return 409;
  if (error instanceof ValidationError) return 400;
  switch (error.code) {
    case ErrorCode.QUEUE_FULL:
    case ErrorCode.CIRCUIT_OPEN:
    case ErrorCode.CLOSED:
    case ErrorCode.CAPACITY:
      return 503;
    case ErrorCode.TIMEOUT:
      return 504;
    case ErrorCode.UPSTREAM:
    case ErrorCode.CONNECTION:
      return 502;
    default:
      return 500;
  }
}

const errorBody = (code: string, message: string, field?: string) => ({ error: { code, message, ...(field ? { field } : {}) } });

/**
 * The HTTP app behind `agentperf serve`: agents over HTTP for load tests and for users, with
 * health, HDR statistics and Prometheus metrics beside them.
 */
export function buildServer(options: ServerOptions): FastifyInstance {
  const app = Fastify({ bodyLimit: options.bodyLimitBytes ?? 1024 * 1024, logger: false, return503OnClosing: true });

  app.setErrorHandler((error: FastifyError, _request, reply) => {
    // Fastify's own errors (body too large, bad JSON, wrong content type) keep their status.
    if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return reply.code(413).send(errorBody(ErrorCode.BODY_TOO_LARGE, `request body must be at most ${options.bodyLimitBytes ?? 1024 * 1024} bytes`, 'body'));
    if (error.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') return reply.code(415).send(errorBody(ErrorCode.MEDIA_TYPE, 'request body must be application/json', 'content-type'));
    if (error.code === 'FST_ERR_CTP_EMPTY_JSON_BODY') return reply.code(400).send(errorBody(ErrorCode.VALIDATION, 'request body must be a JSON object, not empty', 'body'));
    if (error.statusCode === 400) return reply.code(400).send(errorBody(ErrorCode.BAD_JSON, `request body must be valid JSON: ${error.message}`, 'body'));
    if (error instanceof AgentperfError) return reply.code(statusFor(error)).send(errorBody(error.code, error.message, (error as Partial<ValidationError>).field));
    options.logger.error({ err: error }, 'unexpected error serving a request');
    return reply.code(500).send(errorBody(ErrorCode.INTERNAL, 'internal error'));
  });

  app.setNotFoundHandler((request, reply) => reply.code(404).send(errorBody(ErrorCode.NOT_FOUND, `no route ${request.method} ${request.url.split('?')[0]}`)));

  app.post<{ Params: { agent: string } }>('/v1/agents/:agent/execute', async (request, reply) => {
    const parsed = ExecuteBody.safeParse(request.body);
    if (!parsed.success) {
      const issue = describeIssue(parsed.error, request.body, 'the body');
      return reply.code(400).send(errorBody(ErrorCode.VALIDATION, issue.message, issue.field));
    }
    const { task, cache, maxTokens, temperature, timeoutMs } = parsed.data;
    const result = await options.orchestrator.executeAgent(request.params.agent, task, { cache, maxTokens, temperature, deadlineMs: timeoutMs });
    return result;
  });

  app.get('/healthz', async () => ({ status: 'ok' }));

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
