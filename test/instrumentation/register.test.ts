import test from 'ava';
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

// `node --import agentperf/register app.js` on a plain JavaScript one-shot script that calls the
// Anthropic SDK itself: it ends on its own (the /metrics endpoint does not hold it), its spans
// are flushed on the way out, and service.name is the app's package name.

const repo = fileURLToPath(new URL('../../', import.meta.url));

function runApp(env: NodeJS.ProcessEnv): Promise<{ code: number | null; killed: boolean; stdout: string; stderr: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'agentperf-register-'));
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'my-one-shot-app', type: 'module' }));
  writeFileSync(
    join(dir, 'app.js'),
    `import { createRequire } from 'node:module';
const require = createRequire(${JSON.stringify(join(repo, 'package.json'))});
const { default: Anthropic } = await import(require.resolve('@anthropic-ai/sdk'));
const { startSimulator } = await import(${JSON.stringify(pathToFileURL(join(repo, 'src/providers/simulator/server.ts')).href)});
const simulator = await startSimulator({});
const client = new Anthropic({ apiKey: 'test', baseURL: simulator.url });
const message = await client.messages.create({ model: 'claude-sonnet-5-5', max_tokens: 50, messages: [{ role: 'user', content: 'hi' }] });
console.log('answered', message.content[0].type);
await simulator.close();
`,
  );
  return new Promise((resolve) => {
    execFile(process.execPath, ['--import', import.meta.resolve('tsx'), '--import', pathToFileURL(join(repo, 'instrumentation/register.ts')).href, 'app.js'], { cwd: dir, env: { ...process.env, AGENTPERF_LOG_LEVEL: 'warn', ...env }, timeout: 60_000 }, (error, stdout, stderr) =>
      resolve({ code: error ? ((error as { code?: number }).code ?? null) : 0, killed: Boolean(error?.killed), stdout, stderr }),
    );
  });
}

test('a one-shot script under register ends on its own with its /metrics endpoint up, flushes its spans, and is named after its package', async (t) => {
  const result = await runApp({ AGENTPERF_METRICS_PORT: '0', OTEL_TRACES_EXPORTER: 'console' });
  t.false(result.killed, `still running after 60 s: ${result.stderr.slice(-400)}`);
  t.is(result.code, 0, result.stderr);
  t.regex(result.stdout, /answered text/);
  t.regex(result.stderr, /"service":"my-one-shot-app".*"name":"anthropic\.messages\.create"/);
});

test('an instrumentation that cannot start (its metrics port taken) never breaks the application', async (t) => {
  const { createServer } = await import('node:net');
  const blocker = createServer();
  await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
  try {
    const result = await runApp({ AGENTPERF_METRICS_PORT: String((blocker.address() as { port: number }).port) });
    t.is(result.code, 0, result.stderr);
    t.regex(result.stdout, /answered text/);
    t.regex(result.stderr, /did not start; the application runs without it/);
  } finally {
    blocker.close();
  }
});
