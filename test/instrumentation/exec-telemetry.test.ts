import test from 'ava';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { runCli } from '../helpers.ts';

// `exec` is traced when telemetry is configured: its agent span reaches a real OTLP/HTTP
// receiver before the process exits; the console exporter writes to stderr, never into --json.

/** A real OTLP/HTTP receiver for one exec: the trace bodies it received. */
async function execTraced(env: NodeJS.ProcessEnv): Promise<{ code: number; stdout: string; stderr: string; traces: string }> {
  const bodies: string[] = [];
  const receiver = http.createServer((request, response) => {
    let body = '';
    request.on('data', (d) => (body += d));
    request.on('end', () => {
      if (request.url === '/v1/traces') bodies.push(body);
      response.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  try {
    const port = (receiver.address() as AddressInfo).port;
    const result = await runCli(['exec', 'python-expert', 'Explain generators', '--no-cache', '--json'], { env: { OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${port}`, ...env }, timeoutMs: 60_000 });
    return { ...result, traces: bodies.join('\n') };
  } finally {
    receiver.close();
  }
}

test('exec exports its spans to the OTLP endpoint it is given, with OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES, and exits', async (t) => {
  const result = await execTraced({ OTEL_SERVICE_NAME: 'my-service', OTEL_RESOURCE_ATTRIBUTES: 'deployment.environment=ci,team=perf%20eng' });
  t.is(result.code, 0, result.stderr);
  t.is(JSON.parse(result.stdout).agent, 'python-expert');
  t.regex(result.traces, /invoke_agent python-expert/);
  t.regex(result.traces, /"service\.name","value":\{"stringValue":"my-service"\}/);
  t.regex(result.traces, /"deployment\.environment","value":\{"stringValue":"ci"\}/);
  t.regex(result.traces, /"team","value":\{"stringValue":"perf eng"\}/);
});

for (const [what, env] of [
  ['OTEL_SDK_DISABLED=true', { OTEL_SDK_DISABLED: 'true' }],
  ['OTEL_TRACES_SAMPLER=always_off', { OTEL_TRACES_SAMPLER: 'always_off' }],
  ['OTEL_TRACES_SAMPLER=parentbased_always_off', { OTEL_TRACES_SAMPLER: 'parentbased_always_off' }],
  ['OTEL_TRACES_SAMPLER=traceidratio with OTEL_TRACES_SAMPLER_ARG=0', { OTEL_TRACES_SAMPLER: 'traceidratio', OTEL_TRACES_SAMPLER_ARG: '0' }],
] as const) {
  test(`${what}: exec exports no span`, async (t) => {
    const result = await execTraced(env);
    t.is(result.code, 0, result.stderr);
    t.notRegex(result.traces, /invoke_agent/);
  });
}

test('OTEL_TRACES_EXPORTER=console writes spans to stderr; stdout stays the JSON result', async (t) => {
  const result = await runCli(['exec', 'python-expert', 'Explain decorators', '--no-cache', '--json'], { env: { OTEL_TRACES_EXPORTER: 'console' }, timeoutMs: 60_000 });
  t.is(result.code, 0, result.stderr);
  t.is(JSON.parse(result.stdout).agent, 'python-expert');
  t.regex(result.stderr, /"name":"invoke_agent python-expert"/);
});

test('samplerFor and resourceAttributesFrom follow the specification', async (t) => {
  const { samplerFor, resourceAttributesFrom } = await import('../../instrumentation/start.ts');
  const describe = (env: NodeJS.ProcessEnv, ratio?: number) => samplerFor(ratio, env).toString();
  t.regex(describe({}), /ParentBased\{root=AlwaysOnSampler/);
  t.is(describe({ OTEL_TRACES_SAMPLER: 'always_on' }), 'AlwaysOnSampler');
  t.is(describe({ OTEL_TRACES_SAMPLER: 'always_off' }), 'AlwaysOffSampler');
  t.regex(describe({ OTEL_TRACES_SAMPLER: 'traceidratio', OTEL_TRACES_SAMPLER_ARG: '0.25' }), /TraceIdRatioBased\{0\.25\}/);
  t.regex(describe({ OTEL_TRACES_SAMPLER: 'parentbased_traceidratio', OTEL_TRACES_SAMPLER_ARG: '0.1' }), /ParentBased\{root=TraceIdRatioBased\{0\.1\}/);
  t.regex(describe({ OTEL_TRACES_SAMPLER: 'parentbased_always_off' }), /ParentBased\{root=AlwaysOffSampler/);
  t.regex(describe({ OTEL_TRACES_SAMPLER: 'always_off' }, 0.5), /TraceIdRatioBased\{0\.5\}/, 'a ratio given in code wins');
  t.regex(describe({ OTEL_TRACES_SAMPLER: 'xray' }), /ParentBased\{root=AlwaysOnSampler/);
  t.deepEqual(resourceAttributesFrom({ OTEL_RESOURCE_ATTRIBUTES: 'a=1, b = x%2Cy ,bad,service.name=from-attrs' }), { 'service.name': 'from-attrs', 'service.version': resourceAttributesFrom({})['service.version'], a: '1', b: 'x,y' });
  t.is(resourceAttributesFrom({ OTEL_RESOURCE_ATTRIBUTES: 'service.name=a', OTEL_SERVICE_NAME: 'b' })['service.name'], 'b');
});
