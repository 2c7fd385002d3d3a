import test from 'ava';
import { runCli } from './helpers.ts';
import { mkdtempSync } from 'node:fs';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AgentResult } from '../src/orchestrator/orchestrator.ts';
import type { DemoSummary } from '../src/report/demo.ts';

// A home of its own: the default cache and the generated secret land there, not in the real one.
const home = mkdtempSync(join(tmpdir(), 'agentperf-home-'));

const run = (args: string[], env: NodeJS.ProcessEnv = {}) => runCli(args, { env: { HOME: home, AGENTPERF_CACHE_SECRET: '', ...env }, timeoutMs: 60_000 });

test('exec --json prints the whole result object', async (t) => {
  // A home of its own: the other tests' commands run at the same time, and one making the default
  // cache directory and its secret while this one does made it exit 2 once (CI, stop 35).
  const { code, stdout, stderr } = await run(['exec', 'python-expert', 'Explain decorators', '--json'], {
    HOME: mkdtempSync(join(tmpdir(), 'agentperf-home-')),
  });
  t.is(code, 0, stderr);
  const result = JSON.parse(stdout) as AgentResult;
  for (const key of ['output', 'model', 'usage', 'estimatedCostUsd', 'latencyMs', 'queueMs', 'attempts', 'cached', 'requestId']) t.true(key in result, key);
  t.deepEqual(Object.keys(result.usage).sort(), ['cacheReadTokens', 'cacheWrite1hTokens', 'cacheWriteTokens', 'inputTokens', 'outputTokens']);
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
  t.is((await run(['demo', '--calls', 'many'])).code, 2);
  t.is((await run(['simulate', '--faults', 'teapot:1'])).code, 2);
  const help = await run(['--help']);
  t.is(help.code, 0);
  for (const command of ['run', 'demo', 'report', 'exec', 'simulate', 'bench']) t.true(help.stdout.includes(command));
  t.is((await run(['exec', '--help'])).code, 0);
});

test('--live without a key is a usage error', async (t) => {
  const live = await run(['exec', 'python-expert', 'hi', '--live']);
  t.is(live.code, 2);
  t.regex(live.stderr, /--live needs ANTHROPIC_API_KEY/);
});

test('demo prints the summary and exits 0', async (t) => {
  const { code, stdout } = await run(['demo', '--calls', '40', '--json', '--latency', 'fixed:1', '--metrics-port', '0']);
  t.is(code, 0);
  const summary = JSON.parse(stdout) as DemoSummary;
  t.is(summary.calls, 40);
  t.is(summary.counters.calls, 40);
  t.is(summary.hdr.agentLatency.count, 40);
  t.regex(summary.metricsUrl ?? '', /^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
  t.is(summary.latencyMs.count + Object.values(summary.errorsByType).reduce((a, b) => a + b, 0), 40);
});

test('exec caches answers on disk; cache verify, stats, prune and clear', async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'agentperf-cli-cache-'));
  const dir = join(root, 'responses');
  const env = { AGENTPERF_CACHE_ROOTS: root, AGENTPERF_CACHE_SECRET: 'c'.repeat(40) };
  const first = JSON.parse((await run(['exec', 'code-reviewer', 'Review: x = 1', '--json', '--cache-dir', dir], env)).stdout) as AgentResult;
  t.false(first.cached);
  const second = JSON.parse((await run(['exec', 'code-reviewer', 'Review: x = 1', '--json', '--cache-dir', dir], env)).stdout) as AgentResult;
  t.true(second.cached);
  t.is(second.cacheTier, 'disk');
  t.is(second.output, first.output);
  const noCache = JSON.parse((await run(['exec', 'code-reviewer', 'Review: x = 1', '--json', '--no-cache', '--cache-dir', dir], env)).stdout) as AgentResult;
  t.false(noCache.cached);

  const verified = await run(['cache', 'verify', '--cache-dir', dir], env);
  t.is(verified.code, 0);
  t.regex(verified.stdout, /verified 1 entries: all signatures valid/);
  t.regex((await run(['cache', 'stats', '--cache-dir', dir], env)).stdout, /disk tier: 1 entries/);

  const shard = (await readdir(join(dir, 'entries')))[0];
  const file = join(dir, 'entries', shard, (await readdir(join(dir, 'entries', shard)))[0]);
  const bytes = await readFile(file);
  bytes[bytes.length - 50] ^= 1;
  await writeFile(file, bytes);
  const tampered = await run(['cache', 'verify', '--cache-dir', dir], env);
  t.is(tampered.code, 1);
  t.true(tampered.stdout.includes(file));
  t.regex(tampered.stdout, /1 FAILED/);
  t.regex((await run(['cache', 'prune', '--cache-dir', dir], env)).stdout, /pruned 1/);
  t.is((await run(['cache', 'verify', '--cache-dir', dir], env)).code, 0);
  t.is((await run(['cache', 'clear', '--cache-dir', dir], env)).code, 0);
  t.regex((await run(['cache', 'stats', '--cache-dir', dir], env)).stdout, /disk tier: 0 entries/);
});

test('a cache directory outside the allowed roots, or a missing secret with --require-secret, exits 2', async (t) => {
  const outside = await run(['cache', 'stats', '--cache-dir', '/etc/agentperf']);
  t.is(outside.code, 2);
  t.regex(outside.stderr, /AP_ERR_CACHE_PATH: cache directory must lie under an allowed root/);
  const secret = await run(['cache', 'stats', '--require-secret']);
  t.is(secret.code, 2);
  t.regex(secret.stderr, /AP_ERR_CACHE_SECRET/);
  t.is((await run(['cache', 'explode'])).code, 2);
});
