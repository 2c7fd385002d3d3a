import { fork } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { AgentperfError, ErrorCode } from '../errors.js';
import { moduleInvocation, siblingModule } from '../runtime/self.js';
import { theilSen, type SlopeEstimate } from '../stats/theil-sen.js';
import type { ParentMessage, ProbeMessage, ProbeSpec } from './leak-probe.js';
import { ENGINE_CLASSES, findLeakedClasses, programBytes, readHeapSnapshot, type LeakedClass } from './snapshot-diff.js';

export interface LeakOptions extends ProbeSpec {
  /** LEAK when the slope's lower confidence bound exceeds this many bytes per iteration. */
  thresholdBytesPerIteration: number;
  /** Rounds between the baseline, target and final snapshots taken when a leak is found. */
  snapshotRounds: number;
  /** Where the snapshots go (a LEAK only). */
  outDir: string;
}

export const DEFAULT_LEAK_OPTIONS = { warmupRounds: 3, rounds: 12, iterationsPerRound: 20, concurrency: 1, thresholdBytesPerIteration: 64, snapshotRounds: 3 };

export interface LeakReport {
  scenario: string;
  /**
   * LEAK: the slope's lower bound is above the threshold, and so is the growth of the
   * program's objects (not V8's JIT code and metadata) per iteration in both snapshot
   * intervals. CLEAN otherwise.
   */
  verdict: 'LEAK' | 'CLEAN';
  /** Set when the slope alone said LEAK but the snapshots did not show the program's objects piling up. */
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
 * growth of the heap left after each. When even the low end of the 95% interval of that slope
 * is above the threshold, the child takes baseline, target and final snapshots a few rounds
 * apart, and the classes that grew in both intervals are reported with a retainer path. It is
 * a LEAK when the program's objects (V8's JIT code and metadata left out) grew by more than the
 * threshold per iteration in both snapshot intervals too.
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
  const probe = moduleInvocation(siblingModule(import.meta.url, 'leak-probe'));
  const child = fork(probe.file, [JSON.stringify(spec)], { execArgv: ['--expose-gc', ...probe.execArgv], stdio: ['ignore', 'ignore', 'pipe', 'ipc'], env: { ...process.env, AGENTPERF_LOG_LEVEL: process.env.AGENTPERF_LOG_LEVEL ?? 'warn' } });
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr = (stderr + d).slice(-4000)));
  const points: LeakReport['points'] = [];
  let errors: Record<string, number> = {};
  let report: LeakReport | undefined;

  const finished = new Promise<void>((resolve, reject) => {
    child.on('message', (raw) => {
      const message = raw as ProbeMessage;
      if (message.type === 'round') points.push({ iterations: message.iterations, heapUsed: message.heapUsed });
      else if (message.type === 'failed') reject(new AgentperfError(ErrorCode.LEAK_PROBE, `the leak probe failed: ${message.message}`));
      else if (message.type === 'measured') {
        errors = message.errors;
        const slope = theilSen(points.map((p) => p.iterations), points.map((p) => p.heapUsed));
        // Provisional: a LEAK by the slope is confirmed by the snapshots below.
        const verdict = slope.low > options.thresholdBytesPerIteration ? 'LEAK' : 'CLEAN';
        report = { scenario: options.scenario, verdict, slope, thresholdBytesPerIteration: options.thresholdBytesPerIteration, points, errors };
        if (verdict === 'LEAK') {
          void mkdir(options.outDir, { recursive: true }).then(() => child.send({ type: 'snapshots', dir: options.outDir, rounds: options.snapshotRounds } satisfies ParentMessage));
        } else child.send({ type: 'finish' } satisfies ParentMessage);
      } else if (message.type === 'snapshots') {
        report!.snapshots = message.files;
      }
    });
    child.once('exit', (code) => {
      if (code === 0 && report) resolve();
      else reject(new AgentperfError(ErrorCode.LEAK_PROBE, `the leak probe exited with ${code}${stderr ? `: ${stderr.trim().split('\n').slice(-3).join(' | ')}` : ''}`));
    });
  });
  await finished;
  if (report!.snapshots) {
    const [a, b, c] = await Promise.all(report!.snapshots.map(readHeapSnapshot));
    const grown = findLeakedClasses(a!, b!, c!, Number.POSITIVE_INFINITY);
    const program = grown.filter((g) => !ENGINE_CLASSES.has(g.className));
    report!.leakedClasses = program.slice(0, 5);
    report!.engineClasses = grown.filter((g) => ENGINE_CLASSES.has(g.className));
    const [bytesA, bytesB, bytesC] = [programBytes(a!), programBytes(b!), programBytes(c!)];
    report!.programBytesPerIteration = Math.min(bytesB - bytesA, bytesC - bytesB) / (options.snapshotRounds * options.iterationsPerRound);
    if (report!.programBytesPerIteration <= options.thresholdBytesPerIteration) {
      report!.verdict = 'CLEAN';
      report!.note = `the heap grew, but not the program's own objects in both snapshot intervals (${report!.programBytesPerIteration.toFixed(1)} bytes per iteration in the smaller): the growth is V8's JIT code and metadata (code still warming up: more --warmup-rounds lets it settle) or a one-off allocation`;
    }
  }
  return report!;
}
