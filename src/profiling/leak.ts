import { fork } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { AgentperfError, ErrorCode } from '../errors.js';
import { moduleInvocation, siblingModule } from '../runtime/self.js';
import { theilSen, type SlopeEstimate } from '../stats/theil-sen.js';
import type { ParentMessage, ProbeMessage, ProbeSpec } from './leak-probe.js';
import { analyzeSnapshots, type LeakedClass } from './snapshot-diff.js';

export interface LeakOptions extends ProbeSpec {
  /** LEAK above this many bytes retained per iteration; CLEAN only when the whole interval is under it. */
  thresholdBytesPerIteration: number;
  /** Rounds between the baseline, target and final snapshots taken when the slope is above the threshold. */
  snapshotRounds: number;
  /** While the interval straddles the threshold, more rounds, up to this many measured rounds in all. */
  maxRounds?: number;
  /** Where the snapshots go (a LEAK only). */
  outDir: string;
}

export const DEFAULT_LEAK_OPTIONS = {
  warmupRounds: 3,
  rounds: 12,
  iterationsPerRound: 20,
  concurrency: 1,
  thresholdBytesPerIteration: 64,
  snapshotRounds: 3,
  maxRounds: 36,
};

export type LeakVerdict = 'LEAK' | 'CLEAN' | 'INCONCLUSIVE';

export interface LeakReport {
  scenario: string;
  /**
   * CLEAN: the whole 95% interval of the bytes retained per iteration is under the threshold.
   * LEAK: the whole interval is above it, and the snapshots show the program's objects (not
   * V8's JIT code and metadata) growing by more than the threshold per iteration in both of
   * their intervals. Also CLEAN: the whole interval is above it, but the snapshots show the
   * program's objects growing by no more than the threshold in either interval (V8's code grew).
   * INCONCLUSIVE otherwise: the interval still straddles the threshold after the most rounds
   * allowed, or the program's objects grew beyond the threshold in one snapshot interval only.
   */
  verdict: LeakVerdict;
  /** Why the verdict is what it is, when the slope alone does not say it. */
  note?: string;
  /**
   * From the snapshots: how much the program's objects (V8's JIT code and metadata left out)
   * grew per iteration, in the smaller of the two intervals. A leak grows in both; a one-off
   * allocation (a socket's 64 KiB buffer, say) in one only.
   */
  programBytesPerIteration?: number;
  /** Retained bytes per iteration: Theil-Sen slope of heap used (after forced GC) on iterations run. */
  slope: SlopeEstimate;
  thresholdBytesPerIteration: number;
  points: Array<{ iterations: number; heapUsed: number }>;
  errors: Record<string, number>;
  /** When the slope is above the threshold: the program's classes that grew between the snapshots, and what holds them. */
  leakedClasses?: LeakedClass[];
  /** The same for V8's own JIT code and metadata, which do not make a LEAK. */
  engineClasses?: LeakedClass[];
  snapshots?: [string, string, string];
}

/**
 * Runs the scenario in rounds in a child process with GC forced between rounds and fits the
 * growth of the heap left after each (Theil-Sen, with Sen's 95% interval). Under the
 * threshold, whole: CLEAN. Straddling it: more rounds (half as many again each time) up to
 * `maxRounds`, then INCONCLUSIVE. Above it, whole: the child takes baseline, target and final
 * snapshots a few rounds apart, read as streams; the program's classes that grew in both
 * intervals are reported with a retainer path, and it is a LEAK when the program's objects grew
 * by more than the threshold per iteration in both intervals (CLEAN when in neither, only V8's
 * JIT code and metadata grew; INCONCLUSIVE when in one only).
 */
export async function detectLeak(options: LeakOptions): Promise<LeakReport> {
  const spec: ProbeSpec = {
    scenario: options.scenario,
    settings: options.settings,
    target: options.target,
    seed: options.seed,
    warmupRounds: options.warmupRounds,
    rounds: options.rounds,
    iterationsPerRound: options.iterationsPerRound,
    concurrency: options.concurrency,
  };
  const maxRounds = Math.max(options.rounds, options.maxRounds ?? DEFAULT_LEAK_OPTIONS.maxRounds);
  const probe = moduleInvocation(siblingModule(import.meta.url, 'leak-probe'));
  const child = fork(probe.file, [JSON.stringify(spec)], {
    execArgv: ['--expose-gc', ...probe.execArgv],
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    env: { ...process.env, AGENTPERF_LOG_LEVEL: process.env.AGENTPERF_LOG_LEVEL ?? 'warn' },
  });
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr = (stderr + d).slice(-64 * 1024)));
  const points: LeakReport['points'] = [];
  let errors: Record<string, number> = {};
  let report: LeakReport | undefined;
  const threshold = options.thresholdBytesPerIteration;

  const finished = new Promise<void>((resolve, reject) => {
    child.on('message', (raw) => {
      const message = raw as ProbeMessage;
      if (message.type === 'round') points.push({ iterations: message.iterations, heapUsed: message.heapUsed });
      // A scenario whose setup threw keeps its own code: the probe itself did not fail.
      else if (message.type === 'failed')
        reject(
          message.code === ErrorCode.SCENARIO_SETUP
            ? new AgentperfError(ErrorCode.SCENARIO_SETUP, message.message)
            : new AgentperfError(ErrorCode.LEAK_PROBE, `the leak probe failed: ${message.message}`),
        );
      else if (message.type === 'measured') {
        errors = message.errors;
        const slope = theilSen(
          points.map((p) => p.iterations),
          points.map((p) => p.heapUsed),
        );
        report = { scenario: options.scenario, verdict: 'INCONCLUSIVE', slope, thresholdBytesPerIteration: threshold, points, errors };
        if (slope.high < threshold) {
          report.verdict = 'CLEAN';
          child.send({ type: 'finish' } satisfies ParentMessage);
        } else if (slope.low > threshold) {
          // Provisional: a LEAK by the slope is confirmed (or not) by the snapshots below.
          report.verdict = 'LEAK';
          void mkdir(options.outDir, { recursive: true }).then(() =>
            child.send({ type: 'snapshots', dir: options.outDir, rounds: options.snapshotRounds } satisfies ParentMessage),
          );
        } else if (points.length < maxRounds) {
          child.send({ type: 'more', rounds: Math.min(maxRounds - points.length, Math.max(2, Math.ceil(points.length / 2))) } satisfies ParentMessage);
        } else {
          report.note = `the 95% interval of the bytes retained per iteration, ${slope.low.toFixed(1)} to ${slope.high.toFixed(1)}, still straddles the threshold of ${threshold} after ${points.length} rounds: neither CLEAN nor LEAK can be said (more --rounds or --iterations narrow it)`;
          child.send({ type: 'finish' } satisfies ParentMessage);
        }
      } else if (message.type === 'snapshots') {
        report!.snapshots = message.files;
      }
    });
    child.once('exit', (code) => {
      if (code === 0 && report) resolve();
      // Ended "successfully" before it reported: the scenario called process.exit.
      else if (code === 0)
        reject(
          new AgentperfError(
            ErrorCode.SCENARIO_EXIT,
            `the leak probe's process ended (exit code 0) before it reported: code agentperf does not own (a scenario, most likely) called process.exit; nothing was measured`,
          ),
        );
      else reject(new AgentperfError(ErrorCode.LEAK_PROBE, `the leak probe exited with ${code}${stderr ? `:\n${stderr.trim()}` : ''}`));
    });
  });
  await finished;
  if (report!.snapshots) {
    const analysis = await analyzeSnapshots(report!.snapshots);
    report!.leakedClasses = analysis.leakedClasses;
    report!.engineClasses = analysis.engineClasses;
    const [bytesA, bytesB, bytesC] = analysis.programBytes;
    const perIteration = [bytesB - bytesA, bytesC - bytesB].map((bytes) => bytes / (options.snapshotRounds * options.iterationsPerRound));
    const smaller = Math.min(...perIteration);
    const larger = Math.max(...perIteration);
    report!.programBytesPerIteration = smaller;
    if (larger <= threshold) {
      // The heap grew, but the snapshots count every object of the program and none of it grew:
      // what grew is V8's own code and metadata, which is not the program's to leak.
      report!.verdict = 'CLEAN';
      report!.note = `the heap grew, but the program's own objects grew at most ${larger.toFixed(1)} bytes per iteration in either snapshot interval, under the threshold: the growth is V8's JIT code and metadata (code still warming up; more --warmup-rounds lets it settle)`;
    } else if (smaller <= threshold) {
      report!.verdict = 'INCONCLUSIVE';
      report!.note = `the program's objects grew ${larger.toFixed(1)} bytes per iteration in one snapshot interval but ${smaller.toFixed(1)} in the other: a one-off allocation (a buffer, a cache filling) or a leak that comes in bursts; more --snapshot-rounds tells them apart`;
    }
  }
  return report!;
}
