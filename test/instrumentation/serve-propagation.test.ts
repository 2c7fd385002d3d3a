import test from 'ava';
import { SpanKind } from '@opentelemetry/api';
import { InMemorySpanExporter } from '@opentelemetry/sdk-trace-base';
import pino from 'pino';
import { startInstrumentation } from '../../instrumentation/start.ts';
import { systemClock } from '../../src/clock.ts';
import { Orchestrator } from '../../src/orchestrator/orchestrator.ts';
import { createAnthropicProvider } from '../../src/providers/anthropic.ts';
import { startSimulator } from '../../src/providers/simulator/server.ts';
import { buildServer } from '../../src/server/app.ts';
import { TEST_AGENTS } from '../helpers.ts';
import { collectPoints, inMemoryReader, RecordingAgent } from './helpers.ts';

// A request to `serve` carries the caller's trace and baggage; the call agentperf makes upstream
// for it must carry both on, after the request body was read and the call queued (when the
// caller's context is no longer the active one), whether spans are exported or not.

const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
const callerSpanId = '00f067aa0ba902b7';
const otherSpanId = '00f067aa0ba902b8';

for (const exported of [true, false]) {
  test.serial(`serve sends the caller's trace and baggage upstream (spans ${exported ? 'exported' : 'not exported'})`, async (t) => {
    const spans = new InMemorySpanExporter();
    const instrumentation = await startInstrumentation({
      prometheus: false,
      metricReader: inMemoryReader(),
      spanExporter: exported ? spans : 'none',
      spanProcessor: 'simple',
    });
    const simulator = await startSimulator({});
    const wire = new RecordingAgent();
    // One call at a time: the second request's call waits in the queue, and its attempt starts
    // from the first call's completion, where the second caller's context is not active.
    const orchestrator = new Orchestrator({
      agents: TEST_AGENTS,
      provider: createAnthropicProvider({ apiKey: 'test-key', baseURL: simulator.url, dispatcher: wire }),
      clock: systemClock,
      maxConcurrent: 1,
    });
    const app = buildServer({ orchestrator, stats: () => ({}), logger: pino({ level: 'silent' }) });
    try {
      const request = (tenant: string, spanId: string) =>
        app.inject({
          method: 'POST',
          url: '/v1/agents/python-expert/execute',
          payload: { task: `traced from outside for ${tenant}`, cache: 'bypass' },
          headers: { traceparent: `00-${traceId}-${spanId}-01`, baggage: `tenant=${tenant}` },
        });
      const responses = await Promise.all([request('acme', callerSpanId), request('globex', otherSpanId)]);
      for (const response of responses) t.is(response.statusCode, 200, response.body);
      t.is(wire.sent.length, 2);
      const sent = wire.sent.map((h) => JSON.parse(h) as Record<string, string>);
      const chats = spans.getFinishedSpans().filter((s) => s.name.startsWith('chat '));
      for (const [i, [tenant, caller]] of [
        ['acme', callerSpanId],
        ['globex', otherSpanId],
      ].entries()) {
        const [, sentTrace, sentParent] = String(sent[i].traceparent).split('-');
        t.is(sentTrace, traceId, JSON.stringify(sent[i]));
        t.is(sent[i].baggage, `tenant=${tenant}`, "each call carries its own caller's baggage");
        // The parent upstream: agentperf's chat span, in the caller's trace; with no span of agentperf's, the caller's own span.
        if (exported) t.is(sentParent, chats[i].spanContext().spanId);
        else t.is(sentParent, caller);
      }
      // Without the headers: nothing made up when nothing is exported.
      await app.inject({ method: 'POST', url: '/v1/agents/python-expert/execute', payload: { task: 'untraced', cache: 'bypass' } });
      const untraced = JSON.parse(wire.sent[2]) as Record<string, string | undefined>;
      t.is(untraced.baggage, undefined);
      if (!exported) t.is(untraced.traceparent, undefined);
      else t.not(String(untraced.traceparent).split('-')[1], traceId);
    } finally {
      await app.close();
      await simulator.close();
      await instrumentation.stop();
    }
  });
}

test.serial(
  "serve makes the conventions' HTTP SERVER span (the caller's child, the agent span's parent) and http.server.request.duration for every request, refused ones included",
  async (t) => {
    const spans = new InMemorySpanExporter();
    const reader = inMemoryReader();
    const instrumentation = await startInstrumentation({ prometheus: false, metricReader: reader, spanExporter: spans, spanProcessor: 'simple' });
    const simulator = await startSimulator({});
    const orchestrator = new Orchestrator({
      agents: TEST_AGENTS,
      provider: createAnthropicProvider({ apiKey: 'test-key', baseURL: simulator.url }),
      clock: systemClock,
    });
    const app = buildServer({ orchestrator, stats: () => ({}), logger: pino({ level: 'silent' }) });
    try {
      const ok = await app.inject({
        method: 'POST',
        url: '/v1/agents/python-expert/execute',
        payload: { task: 'served', cache: 'bypass' },
        headers: { traceparent: `00-${traceId}-${callerSpanId}-01`, 'user-agent': 'load-test/1' },
      });
      t.is(ok.statusCode, 200, ok.body);
      const invalid = await app.inject({ method: 'POST', url: '/v1/agents/python-expert/execute', payload: { task: 7 } });
      t.is(invalid.statusCode, 400);
      const missing = await app.inject({ method: 'GET', url: '/nowhere/at/all' });
      t.is(missing.statusCode, 404);

      const finished = spans.getFinishedSpans();
      const servers = finished.filter((s) => s.kind === SpanKind.SERVER);
      t.deepEqual(
        servers.map((s) => s.name),
        ['POST /v1/agents/:agent/execute', 'POST /v1/agents/:agent/execute', 'GET'],
      );
      const [served, refused, unrouted] = servers;
      t.is(served.spanContext().traceId, traceId);
      t.is(served.parentSpanContext?.spanId, callerSpanId);
      t.like(served.attributes, {
        'http.request.method': 'POST',
        'http.route': '/v1/agents/:agent/execute',
        'url.scheme': 'http',
        'http.response.status_code': 200,
        'user_agent.original': 'load-test/1',
        'network.protocol.version': '1.1',
      });
      const agent = finished.find((s) => s.name === 'invoke_agent python-expert')!;
      t.is(agent.parentSpanContext?.spanId, served.spanContext().spanId, 'the agent call runs in the server span');
      t.is(refused.attributes['http.response.status_code'], 400);
      t.is(refused.attributes['error.type'], undefined, "a 4xx is the client's error, not the server's");
      t.is(unrouted.attributes['http.route'], undefined);
      t.is(unrouted.attributes['http.response.status_code'], 404);

      const points = await collectPoints(reader, 'http.server.request.duration');
      const byStatus = points.map((p) => [
        p.attributes['http.request.method'],
        p.attributes['http.route'],
        p.attributes['http.response.status_code'],
        (p.value as { count: number }).count,
      ]);
      t.deepEqual(byStatus.sort(), [
        ['GET', undefined, 404, 1],
        ['POST', '/v1/agents/:agent/execute', 200, 1],
        ['POST', '/v1/agents/:agent/execute', 400, 1],
      ]);
    } finally {
      await app.close();
      await simulator.close();
      await instrumentation.stop();
    }
  },
);
