import { propagation, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Attributes, type Meter, type Span, type Tracer } from '@opentelemetry/api';
import type { HttpServerMessage } from '../src/diagnostics.js';

// The HTTP server conventions (semantic-conventions docs/http/http-spans.md and
// http-metrics.md): a SERVER span named "{method} {route}" and the stable
// `http.server.request.duration` histogram with the conventions' bucket advice, in seconds.
export const HTTP_SERVER_DURATION = 'http.server.request.duration';
export const HTTP_SERVER_DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10];

const SPAN = Symbol('agentperf.httpServerSpan');
const STARTED = Symbol('agentperf.httpServerStarted');
type Tracked = HttpServerMessage & { [SPAN]?: Span; [STARTED]?: number };

/** The conventions' attributes both the span and the metric carry (low cardinality: the route template, never the path). */
function commonAttributes(message: HttpServerMessage): Attributes {
  return {
    'http.request.method': message.method,
    'url.scheme': message.scheme,
    'network.protocol.version': message.protocolVersion,
    ...(message.route ? { 'http.route': message.route } : {}),
  };
}

/**
 * Handlers for `serve`'s request events: on arrival, the caller's context (extracted from the
 * headers) and, when spans are made, a SERVER span in it, left on the message for the request's
 * work to run in; when the response is sent, the span's status and end, and one duration point.
 */
export function httpServerHandlers(
  meter: Meter,
  tracer: () => Tracer | undefined,
): { request: (message: HttpServerMessage) => void; response: (message: HttpServerMessage) => void } {
  const duration = meter.createHistogram(HTTP_SERVER_DURATION, {
    unit: 's',
    description: 'Duration of HTTP server requests',
    advice: { explicitBucketBoundaries: HTTP_SERVER_DURATION_BUCKETS },
  });
  return {
    request(raw) {
      const message = raw as Tracked;
      message[STARTED] = performance.now();
      const parent = propagation.extract(ROOT_CONTEXT, message.headers);
      const spans = tracer();
      if (!spans) {
        message.context = parent;
        return;
      }
      const span = spans.startSpan(
        message.route ? `${message.method} ${message.route}` : message.method,
        {
          kind: SpanKind.SERVER,
          attributes: {
            ...commonAttributes(message),
            ...(message.serverAddress ? { 'server.address': message.serverAddress } : {}),
            ...(message.serverPort ? { 'server.port': message.serverPort } : {}),
            ...(typeof message.headers['user-agent'] === 'string' ? { 'user_agent.original': message.headers['user-agent'] } : {}),
          },
        },
        parent,
      );
      message[SPAN] = span;
      message.context = trace.setSpan(parent, span);
    },
    response(raw) {
      const message = raw as Tracked;
      const status = message.statusCode ?? 0;
      // Server errors only: a 4xx is the client's, not a failure of the server span.
      const error = status >= 500 ? String(status) : undefined;
      const attributes = { ...commonAttributes(message), 'http.response.status_code': status, ...(error ? { 'error.type': error } : {}) };
      duration.record((performance.now() - (message[STARTED] ?? performance.now())) / 1000, attributes);
      const span = message[SPAN];
      if (!span) return;
      if (span.isRecording()) {
        span.setAttributes({ 'http.response.status_code': status, ...(error ? { 'error.type': error } : {}) });
        if (error) span.setStatus({ code: SpanStatusCode.ERROR });
      }
      span.end();
    },
  };
}
