import test from 'ava';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const bin = fileURLToPath(new URL('../bin/agentperf.js', import.meta.url));

function run(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [bin, ...args], { env: { ...process.env, AGENTPERF_LOG_LEVEL: 'silent', ANTHROPIC_API_KEY: '', ...env }, timeout: 60_000 }, (error, stdout, stderr) => {
      resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

test('exec --json prints the whole result object', async (t) => {
  const { code, stdout } = await run(['exec', 'python-expert', 'Explain decorators', '--json']);
  t.is(code, 0);
  const result = JSON.parse(stdout);
  for (const key of ['output', 'model', 'usage', 'estimatedCostUsd', 'latencyMs', 'queueMs', 'attempts', 'cached', 'requestId']) t.true(key in result, key);
  t.deepEqual(Object.keys(result.usage).sort(), ['cacheReadTokens', 'cacheWriteTokens', 'inputTokens', 'outputTokens']);
  t.is(result.model, 'claude-sonnet-5-5');
});

test('bad input exits 2 with one line naming the code and the field', async (t) => {
  const unknown = await run(['exec', '../etc/passwd', 'hi']);
  t.is(unknown.code, 2);
  t.is(unknown.stderr.trim().split('\n').length, 1);
  t.regex(unknown.stderr, /AP_ERR_AGENT_NAME: agent name must match/);
  const range = await run(['exec', 'python-expert', 'hi', '--max-tokens', '0']);
  t.is(range.code, 2);
  t.regex(range.stderr, /AP_ERR_PARAM_RANGE: maxTokens must be an integer from 1 to 128000/);
});

test('bad usage exits 2; --help exits 0', async (t) => {
  t.is((await run(['no-such-command'])).code, 2);
  t.is((await run(['exec'])).code, 2);
  t.is((await run(['run', '--calls', 'many'])).code, 2);
  t.is((await run(['simulate', '--faults', 'teapot:1'])).code, 2);
  const help = await run(['--help']);
  t.is(help.code, 0);
  for (const command of ['run', 'exec', 'simulate', 'bench']) t.true(help.stdout.includes(command));
  t.is((await run(['exec', '--help'])).code, 0);
});

test('--live without a key is a usage error', async (t) => {
  const live = await run(['exec', 'python-expert', 'hi', '--live']);
  t.is(live.code, 2);
  t.regex(live.stderr, /--live needs ANTHROPIC_API_KEY/);
});

test('run prints the summary and exits 0', async (t) => {
  const { code, stdout } = await run(['run', '--calls', '40', '--json', '--latency', 'fixed:1']);
  t.is(code, 0);
  const summary = JSON.parse(stdout);
  t.is(summary.calls, 40);
  t.is(summary.counters.calls, 40);
  t.is(summary.latencyMs.count + Object.values(summary.errorsByType as Record<string, number>).reduce((a, b) => a + b, 0), 40);
});
