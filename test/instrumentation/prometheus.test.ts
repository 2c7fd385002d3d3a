// A real Prometheus server scrapes the exporter while a workload runs; its HTTP API must then
// agree with what the workload did, and promtool must accept the exposition.
import test from 'ava';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startInstrumentation } from '../../instrumentation/start.ts';
import { AGENT_DURATION_BUCKETS } from '../../instrumentation/names.ts';
import { ResponseCache } from '../../src/cache/response-cache.ts';
import { systemClock, type ManualClock } from '../../src/clock.ts';
import { percentile } from '../../src/stats/percentiles.ts';
import { teardown, waitFor, withSimulator } from '../helpers.ts';
import { freePort, hasBinary } from '../servers.ts';

const available = hasBinary('prometheus') && hasBinary('promtool');
if (!available) {
  if (process.env.CI) throw new Error('CI must have prometheus and promtool: .ci/run installs them with apt-get');
  process.stderr.write('prometheus.test.ts skipped: install the real server with `apt-get install -y prometheus` (Debian) to run it\n');
}
const maybe = available ? test.serial : test.serial.skip;

async function query(base: string, promql: string): Promise<Array<{ metric: Record<string, string>; value: [number, string] }>> {
  const response = await fetch(`${base}/api/v1/query?query=${encodeURIComponent(promql)}`);
  const body = (await response.json()) as { status: string; data: { result: Array<{ metric: Record<string, string>; value: [number, string] }> } };
  if (body.status !== 'success') throw new Error(`query failed: ${promql}`);
  return body.data.result;
}

maybe('a real Prometheus scrapes /metrics and its queries agree with the workload; promtool accepts the exposition', async (t) => {
  const instrumentation = await startInstrumentation({ prometheus: { port: 0 }, spanExporter: 'none' });
  const cache = await ResponseCache.open({});
  instrumentation.observeCache(cache);
  const dir = await mkdtemp(join(tmpdir(), 'agentperf-prometheus-'));
  const target = new URL(instrumentation.metricsUrl!).host;
  await writeFile(
    join(dir, 'prometheus.yml'),
    `global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: agentperf\n    static_configs:\n      - targets: ['${target}']\n`,
  );
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  let prometheus: ChildProcess | undefined;
  const setup = await withSimulator(
    { latency: { model: { kind: 'uniform', minMs: 2, maxMs: 30 }, perOutputTokenMs: 0 } },
    { cache, maxConcurrent: 8 },
    systemClock as ManualClock,
  );
  try {
    prometheus = spawn(
      'prometheus',
      [`--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`],
      { stdio: 'ignore' },
    );
    await waitFor(async () => (await fetch(`${base}/-/ready`).catch(() => undefined))?.ok === true, 'Prometheus to be ready', 5_000_000);

    // One call first, so the series exist in a scrape before the workload (increase() needs a
    // sample of the same series from before the increase).
    const latencies: number[] = [(await setup.orchestrator.executeAgent('python-expert', 'warm-up')).latencyMs / 1000];
    await waitFor(async () => (await query(base, 'agentperf_agent_calls_total{gen_ai_agent_name="python-expert"}')).length > 0, 'a first scrape', 5_000_000);

    // 60 distinct questions, then the same 60 again: 60 more misses, 60 memory hits.
    for (const _round of [0, 1]) {
      const results = await Promise.all(Array.from({ length: 60 }, (_, i) => setup.orchestrator.executeAgent('python-expert', `question ${i}`)));
      // Memory hits are agent invocations too (gen_ai.invoke_agent.duration has them).
      latencies.push(...results.map((r) => r.latencyMs / 1000));
    }

    // Wait until a scrape after the workload is in: the total reaches 120.
    const totalCalls = async () => Number((await query(base, 'sum(agentperf_agent_calls_total{gen_ai_agent_name="python-expert"})'))[0]?.value[1] ?? 0);
    await waitFor(async () => (await totalCalls()) === 121, 'Prometheus to scrape the finished workload', 5_000_000);

    const byResult = Object.fromEntries(
      (await query(base, 'sum by (agentperf_cache_result) (agentperf_agent_calls_total{gen_ai_agent_name="python-expert"})')).map((r) => [
        r.metric.agentperf_cache_result,
        Number(r.value[1]),
      ]),
    );
    t.deepEqual(byResult, { miss: 61, hit: 60 });
    t.is(Number((await query(base, 'sum(agentperf_cache_requests_total{result="hit",tier="memory"})'))[0].value[1]), 60);
    t.is(Number((await query(base, 'sum(gen_ai_client_operation_duration_seconds_count)'))[0].value[1]), 61);
    t.is(Number((await query(base, 'sum(gen_ai_client_token_usage_count{gen_ai_token_type="output"})'))[0].value[1]), 61);
    t.is(Number((await query(base, 'sum(agentperf_cache_entries{tier="memory"})'))[0].value[1]), 61);

    // histogram_quantile interpolates inside the bucket that holds the true p95: it must land there.
    const p95 = Number(
      (await query(base, 'histogram_quantile(0.95, sum by (le) (gen_ai_invoke_agent_duration_seconds_bucket{gen_ai_agent_name="python-expert"}))'))[0].value[1],
    );
    const exact = percentile(
      [...latencies].sort((a, b) => a - b),
      95,
    );
    const upper = AGENT_DURATION_BUCKETS.find((b) => b >= exact)!;
    const lower = [...AGENT_DURATION_BUCKETS].reverse().find((b) => b < exact) ?? 0;
    t.true(p95 >= lower && p95 <= upper, `Prometheus p95 ${p95} s should lie in the bucket (${lower}, ${upper}] of the exact p95 ${exact} s`);

    const increase = Number((await query(base, 'sum(increase(agentperf_agent_calls_total{gen_ai_agent_name="python-expert"}[1m]))'))[0]?.value[1] ?? 0);
    t.true(increase > 0, `increase() over the workload: ${increase}`);

    const exposition = await (await fetch(instrumentation.metricsUrl!)).text();
    // Names carry their units, and a # UNIT line names a family that ends with its unit (OpenMetrics).
    const units = [...exposition.matchAll(/^# UNIT (\S+) (\S+)$/gm)];
    t.true(
      units.some((m) => m[1] === 'gen_ai_invoke_agent_duration_seconds' && m[2] === 'seconds'),
      exposition.slice(0, 2000),
    );
    for (const [, family, unit] of units) t.true(family.endsWith(`_${unit}`), `# UNIT ${family} ${unit}`);
    t.deepEqual([...new Set([...exposition.matchAll(/otel_scope_name="([^"]*)"/g)].map((m) => m[1]))], ['agentperf']);
    const lint = spawn('promtool', ['check', 'metrics'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let lintOutput = '';
    lint.stdout.on('data', (d) => (lintOutput += d));
    lint.stderr.on('data', (d) => (lintOutput += d));
    lint.stdin.end(exposition);
    const code = await new Promise<number | null>((resolve) => lint.once('exit', resolve));
    t.is(code, 0, lintOutput);
  } finally {
    prometheus?.kill('SIGTERM');
    await teardown(setup);
    await cache.close();
    await instrumentation.stop();
  }
});
