import { context, propagation, type Context } from '@opentelemetry/api';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { httpServerRequestChannel, httpServerResponseChannel, type HttpServerMessage } from '../diagnostics.js';

const MESSAGE = Symbol('agentperf.httpServerMessage');
type WithMessage = FastifyRequest & { [MESSAGE]?: HttpServerMessage };

/**
 * Publishes every request to the app (as it arrives, and again when its response is sent) for
 * instrumentation to make the HTTP SERVER span and `http.server.request.duration` of. First of
 * the request hooks, so refused requests (401, 404, 413) are seen too. Nothing is built when
 * nobody listens.
 */
export function publishHttpServerEvents(app: FastifyInstance): void {
  app.addHook('onRequest', (request, _reply, done) => {
    if (httpServerRequestChannel.hasSubscribers) {
      const socket = request.raw.socket;
      const message: HttpServerMessage = {
        method: request.method,
        route: request.routeOptions.url,
        scheme: request.protocol,
        headers: request.headers,
        serverAddress: socket.localAddress,
        serverPort: socket.localPort,
        protocolVersion: request.raw.httpVersion,
      };
      (request as WithMessage)[MESSAGE] = message;
      httpServerRequestChannel.publish(message);
    }
    done();
  });
  app.addHook('onResponse', (request, reply, done) => {
    const message = (request as WithMessage)[MESSAGE];
    if (message) {
      message.statusCode = reply.statusCode;
      httpServerResponseChannel.publish(message);
    }
    done();
  });
}

/**
 * Runs `fn` in the request's trace: the server span's context when instrumentation made one
 * (it carries the caller's W3C `traceparent`, `tracestate` and `baggage`), else the caller's
 * context read from the headers, else the current context.
 */
export function inCallerTrace<T>(request: FastifyRequest, fn: () => T): T {
  const made = (request as WithMessage)[MESSAGE]?.context as Context | undefined;
  return context.with(made ?? propagation.extract(context.active(), request.headers), fn);
}
