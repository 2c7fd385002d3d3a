import test from 'ava';
import type { StreamingBenchResult } from '../src/bench/streaming.ts';
import { runCli } from './helpers.ts';

test('bench streaming runs end to end on the built CLI and reports every figure (a small run: the figures themselves are the README table)', async (t) => {
  const { code, stdout, stderr } = await runCli(['bench', 'streaming', '--rounds', '2', '--streams', '5', '--concurrent', '50', '--json'], {
    timeoutMs: 120_000,
  });
  t.is(code, 0, stderr);
  const result = JSON.parse(stdout) as StreamingBenchResult;
  t.true(result.ttfc.bareSdkMs > 0 && result.ttfc.orchestratorMs > 0);
  t.true(result.ttfc.deltasPerCall > 1, 'the simulator streamed its answers in several deltas');
  t.true(
    result.cpuPerChunk.bareUs > 0 && result.cpuPerChunk.orchestratorUs > result.cpuPerChunk.bareUs,
    'reading through the orchestrator costs more than reading bare',
  );
  t.like(result.concurrent, { streams: 50, completed: 50, failed: 0 });
  t.true(result.concurrent.heapBytesPerStream > 0);
  t.true(result.replay.p50Us > 0 && result.replay.p99Us >= result.replay.p50Us);
  const bad = await runCli(['bench', 'streaming', '--rounds', '0'], { timeoutMs: 30_000 });
  t.is(bad.code, 2);
  t.regex(bad.stderr, /rounds/);
});
