import test from 'ava';
import { spawn } from 'node:child_process';
import { judgeGenerator, readProcStat, ResourceMonitor, type ResourceSummary } from '../../src/load/monitor.ts';

const summary = (busy: number, delayP50: number, delayP99 = delayP50): ResourceSummary => ({
  generator: {
    cpuMeanPct: busy,
    cpuMaxPct: busy,
    mainThreadBusyMeanPct: busy,
    mainThreadBusyMaxPct: busy,
    rssStartBytes: 1,
    rssEndBytes: 1,
    rssMaxBytes: 1,
    heapUsedMaxBytes: 1,
    eventLoopDelay: { p50: delayP50, p99: delayP99, max: delayP99 },
    gc: { count: 0, totalPauseMs: 0, maxPauseMs: 0 },
    cpuUs: 0,
    samples: [],
  },
});

test('a generator whose main thread is nearly always busy is not trusted', (t) => {
  t.true(judgeGenerator(summary(50, 1), 10).trusted);
  const verdict = judgeGenerator(summary(95, 1), 10);
  t.false(verdict.trusted);
  t.regex(verdict.reasons[0], /main thread was busy 95%/);
});

test('an event loop late at its median, by a delay large next to the latencies measured, makes the result untrusted; GC spikes at the p99 do not', (t) => {
  t.true(judgeGenerator(summary(30, 4), 1).trusted, 'a few ms are ordinary');
  t.true(judgeGenerator(summary(30, 20), 100).trusted, 'small next to 100 ms calls');
  t.true(judgeGenerator(summary(20, 0.5, 25), 1).trusted, 'a fast service with GC pauses at the p99: work, not saturation');
  const verdict = judgeGenerator(summary(30, 20), 30);
  t.false(verdict.trusted);
  t.regex(verdict.reasons[0], /late by 20\.0 ms at the median, large next to the mean latency 30\.0 ms/);
});

test('the monitor samples this process, and a target process by pid', async (t) => {
  // A child that burns CPU for a while: its CPU shows in the target's samples.
  const child = spawn(process.execPath, ['-e', 'const end = Date.now() + 1500; while (Date.now() < end) {}']);
  try {
    const monitor = new ResourceMonitor({ intervalMs: 200, targetPid: child.pid });
    monitor.start();
    const end = Date.now() + 900;
    while (Date.now() < end) await new Promise((resolve) => setTimeout(resolve, 5));
    const result = monitor.stop();
    t.true(result.generator.samples.length >= 3, `samples: ${result.generator.samples.length}`);
    t.true(result.generator.rssMaxBytes > 10 * 2 ** 20);
    t.truthy(result.target);
    // A spinning process, read from /proc: well above the ~0% of an idle one, though how much
    // of a core it gets depends on what else the machine runs (CI runs tests in parallel).
    t.true(result.target!.cpuMaxPct > 5, `target CPU ${result.target!.cpuMaxPct}%`);
    t.true(result.target!.rssMaxBytes > 0);
  } finally {
    child.kill();
  }
});

test('readProcStat gives undefined for a process that does not exist', (t) => {
  t.is(readProcStat(2 ** 22 + 7), undefined);
  t.true(readProcStat(process.pid)!.rssBytes > 0);
});
