import type { FastifyReply } from 'fastify';
import { AgentperfError, ErrorCode, errorType, StreamInterruptedError } from '../errors.js';
import type { AgentStream } from '../orchestrator/agent-stream.js';
import { serverSentEvent } from '../providers/stream-events.js';

/** How often a quiet stream gets a `ping` event (the Messages API sends them too), so that proxies and idle timeouts keep it open. */
export const STREAM_PING_MS = 15_000;

/**
 * Relays a streamed agent call as server-sent events: each event as the Messages API writes it
 * (`event: content_block_delta`, ...), then `event: agentperf.result` with the call's result
 * (`{ "type": "agentperf.result", "result": { ... } }`).
 * Nothing is sent until the first event: a call that fails before it (an unknown agent, an open
 * circuit, an upstream that never answered) gets its status and the JSON error, like `execute`.
 * A failure after it ends the stream with an `error` event, as the Messages API does; a client
 * that disconnects leaves the stream, which cancels the upstream request unless another caller
 * reads it too.
 */
export async function relayStream(stream: AgentStream, reply: FastifyReply): Promise<void> {
  const iterator = stream[Symbol.asyncIterator]();
  // A failure here reaches the error handler, which answers it as it answers execute's.
  const first = await iterator.next();
  reply.hijack();
  const response = reply.raw;
  response.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', connection: 'keep-alive' });
  let open = true;
  response.once('close', () => {
    if (!open) return;
    open = false;
    // The client went away before the end: leave the stream (the upstream is cancelled).
    void iterator.return?.();
  });
  const ping = setInterval(() => response.write('event: ping\ndata: {"type": "ping"}\n\n'), STREAM_PING_MS);
  ping.unref();
  try {
    if (!first.done) response.write(serverSentEvent(first.value));
    for (;;) {
      const step = await iterator.next();
      if (step.done || !open) break;
      response.write(serverSentEvent(step.value));
    }
    // Like every event, its data names its type: a client that reads events by their data (the SDK's parser does) knows it.
    if (open) response.write(`event: agentperf.result\ndata: ${JSON.stringify({ type: 'agentperf.result', result: await stream.result })}\n\n`);
  } catch (error) {
    if (open) {
      const code = error instanceof AgentperfError ? error.code : ErrorCode.INTERNAL;
      const type = error instanceof StreamInterruptedError ? error.reason : errorType(error);
      const message = error instanceof AgentperfError ? error.message : 'internal error';
      response.write(`event: error\ndata: ${JSON.stringify({ type: 'error', error: { type, code, message } })}\n\n`);
    }
  } finally {
    clearInterval(ping);
    open = false;
    response.end();
  }
}
