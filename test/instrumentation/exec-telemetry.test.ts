import test from 'ava';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { runCli } from '../helpers.ts';

// `exec` is traced when telemetry is configured: its agent span reaches a real OTLP/HTTP
// receiver before the process exits; the console exporter writes to stderr, never into --json.

test('exec exports its spans to the OTLP endpoint it is given, and exits', async (t) => {
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
    const result = await runCli(['exec', 'python-expert', 'Explain generators', '--no-cache', '--json'], { env: { OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${port}`, OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json' }, timeoutMs: 60_000 });
    t.is(result.code, 0, result.stderr);
    t.is(JSON.parse(result.stdout).agent, 'python-expert');
    const all = bodies.join('\n');
    t.regex(all, /invoke_agent python-expert/);
  } finally {
    receiver.close();
  }
});

test('OTEL_TRACES_EXPORTER=console writes spans to stderr; stdout stays the JSON result', async (t) => {
  const result = await runCli(['exec', 'python-expert', 'Explain decorators', '--no-cache', '--json'], { env: { OTEL_TRACES_EXPORTER: 'console' }, timeoutMs: 60_000 });
  t.is(result.code, 0, result.stderr);
  t.is(JSON.parse(result.stdout).agent, 'python-expert');
  t.regex(result.stderr, /"name":"invoke_agent python-expert"/);
});
