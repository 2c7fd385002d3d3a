import type { FastifyInstance, FastifyReply } from 'fastify';
import { z } from 'zod';
import { describeIssue } from '../config/read.js';
import { ErrorCode, ValidationError } from '../errors.js';
import { WorkflowSchema } from '../config/workflow.js';
import { NotFoundError, type SequencedEvent, type WorkflowService } from '../workflow/service.js';
import { inCallerTrace } from './trace-context.js';

/** Events per `POST /v1/events`, at most. */
export const MAX_EVENT_BATCH = 1_000;

/** An event's `data`, as JSON, at most. */
export const MAX_EVENT_DATA_BYTES = 64 * 1024;

const ExecuteWorkflowBody = z
  .object({
    input: z.string().max(100_000).optional(),
    maxParallel: z.number().int().min(1).optional(),
    onError: z.enum(['fail-fast', 'continue']).optional(),
  })
  .strict();

/** Comment lines on a quiet stream, so that no proxy or idle timeout closes it. */
export const SSE_HEARTBEAT_MS = 15_000;

const PublishEventsBody = z
  .object({
    events: z
      .array(
        z
          .object({
            type: z.string().regex(/^[a-z][a-z0-9_.-]{0,63}$/, 'must be 1-64 characters of a-z, 0-9, _ . - starting with a letter'),
            workflowId: z.string().min(1).max(128),
            stepId: z.string().min(1).max(128).optional(),
            // Depth is bounded before parsing (MAX_JSON_DEPTH); size here, so that every event
            // accepted can be written to every stream.
            data: z
              .unknown()
              .optional()
              .refine(
                (data) => data === undefined || Buffer.byteLength(JSON.stringify(data) ?? '') <= MAX_EVENT_DATA_BYTES,
                `must be at most ${MAX_EVENT_DATA_BYTES / 1024} KiB as JSON`,
              ),
          })
          .strict(),
      )
      .min(1)
      .max(MAX_EVENT_BATCH),
  })
  .strict();

/** Parses a body with a schema, or throws the first problem as a ValidationError naming the field. */
function parseBody<T>(schema: z.ZodType<T>, body: unknown): T {
  const parsed = schema.safeParse(body);
  if (parsed.success) return parsed.data;
  const issue = describeIssue(parsed.error, body, 'the body');
  throw new ValidationError(ErrorCode.VALIDATION, issue.field, issue.message);
}

/** A slow SSE reader past this many unsent bytes is disconnected; it resumes with Last-Event-ID. */
const SSE_MAX_BUFFERED_BYTES = 1024 * 1024;

/**
 * The workflow API: create, execute, cancel, status, a server-sent event stream per workflow,
 * and event publishing. Errors go through the app's error handler (codes and statuses there).
 */
export function registerWorkflowRoutes(app: FastifyInstance, service: WorkflowService): void {
  app.post('/v1/workflows', async (request, reply) => {
    const workflow = parseBody(WorkflowSchema, request.body);
    return reply.code(201).send(service.create(workflow));
  });

  app.post<{ Params: { id: string } }>('/v1/workflows/:id/execute', async (request, reply) => {
    const options = parseBody(ExecuteWorkflowBody, request.body ?? {});
    // The run goes on after the answer; started in the caller's trace, its spans stay in it.
    return reply.code(202).send(inCallerTrace(request, () => service.execute(request.params.id, options)));
  });

  app.post<{ Params: { id: string } }>('/v1/workflows/:id/cancel', async (request, reply) => reply.code(202).send(service.cancel(request.params.id)));

  // eslint-disable-next-line @typescript-eslint/require-await -- fastify sends what an async handler returns
  app.get<{ Params: { id: string } }>('/v1/workflows/:id', async (request) => service.status(request.params.id));

  app.get<{ Params: { id: string } }>('/v1/workflows/:id/events', (request, reply) => {
    const lastEventId = Number(request.headers['last-event-id'] ?? 0);
    const afterSeq = Number.isInteger(lastEventId) && lastEventId > 0 ? lastEventId : 0;
    if (!service.has(request.params.id)) throw new NotFoundError(`no workflow ${JSON.stringify(request.params.id)}`); // a 404, before the stream starts
    streamEvents(reply, (send, end) => service.follow(request.params.id, afterSeq, send, end));
  });

  app.post('/v1/events', async (request, reply) => {
    const { events } = parseBody(PublishEventsBody, request.body);
    return reply.code(202).send({ accepted: await service.publish(events) });
  });
}

/** Server-sent events: `id` is the event's sequence number, `event` its type, `data` the JSON. */
function streamEvents(reply: FastifyReply, follow: (send: (event: SequencedEvent) => void, end: () => void) => { stop(): void }): void {
  reply.hijack();
  const response = reply.raw;
  response.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', connection: 'keep-alive' });
  response.flushHeaders(); // the client sees the stream open before the first event
  let open = true;
  // A comment line now and then: proxies and the server's own idle timeout would otherwise
  // close a stream that is quiet because the workflow is waiting.
  const heartbeat = setInterval(() => response.write(': heartbeat\n\n'), SSE_HEARTBEAT_MS);
  heartbeat.unref();
  const end = () => {
    if (!open) return;
    open = false;
    clearInterval(heartbeat);
    following?.stop();
    response.end();
  };
  const send = (event: SequencedEvent) => {
    if (!open) return;
    let data: string;
    try {
      data = JSON.stringify(event);
    } catch (error) {
      // An event that cannot be written must not silence the stream: the reader is told which
      // one was lost, and every event after it still arrives.
      data = JSON.stringify({
        seq: event.seq,
        type: 'stream.error',
        workflowId: event.workflowId,
        message: `event ${event.seq} (${String(event.type).slice(0, 100)}) could not be serialised: ${(error as Error).message.slice(0, 200)}`,
      });
      response.write(`id: ${event.seq}\nevent: stream.error\ndata: ${data}\n\n`);
      return;
    }
    response.write(`id: ${event.seq}\nevent: ${event.type}\ndata: ${data}\n\n`);
    if (response.writableLength > SSE_MAX_BUFFERED_BYTES) end();
  };
  // eslint-disable-next-line prefer-const -- `end` may run inside follow(), before it returns (a const would be in its dead zone)
  let following: { stop(): void } | undefined;
  following = follow(send, end);
  if (!open) following.stop();
  response.on('close', end);
}
