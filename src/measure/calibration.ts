/**
 * How fast this machine is right now, on a fixed reference workload (hashing, JSON, integer
 * arithmetic: what request paths spend CPU on), run on every CPU the process may use at once,
 * and timed by the wall clock. So it sees what blocks see: a slower CPU, a neighbour taking a
 * core or its hyperthread sibling, a throttled runner.
 *
 * A stored baseline keeps the samples taken between its blocks; a gate against it takes its
 * own between the candidate's blocks (before the first, between each two, after the last), and
 * when the two medians differ by more than the policy's band (15% by default), the machines do
 * not measure alike and the gate does not judge: a runner of the same class can still be a
 * slower one, and the code must not take the blame. The band is the trusted policy's; the
 * stored file's own spread never widens it.
 */
import os from 'node:os';
import { Worker } from 'node:worker_threads';
import { median } from '../stats/percentiles.js';

export interface Calibration {
  /** How many threads ran the reference workload at once: the CPUs the process may use. */
  threads: number;
  /** Wall time per unit of the reference workload on each thread, in µs, one per sample. */
  samples: number[];
}

/** The CPUs this process may use (its affinity and cgroup quota, where Node sees them). */
export function cpusInUse(): number {
  return os.availableParallelism?.() ?? os.cpus().length;
}

/** How many samples in a row must agree for the machine to count as steady. */
export const STEADY_SAMPLES = 5;

/** The longest a gate or a baseline waits for a steady machine before it measures anyway (and says so). */
export const SETTLE_MAX_MS = 60_000;

/** Units per thread per sample: about 100 ms of work here (short samples swing with a busy host), so a sample between blocks costs little. */
export const UNITS_PER_SAMPLE = 10_000;

// The reference workload, as the source of a worker thread (no module to resolve: the same
// code from TypeScript sources and from the built package). One unit hashes 1 KiB, round-trips
// a small message through JSON and runs 2,000 integer multiply-adds.
const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const { createHash } = require('node:crypto');
const PAYLOAD = Buffer.alloc(1024, 7);
const RECORD = { id: 'msg_0123456789', model: 'claude-sonnet-5-5', usage: { input_tokens: 41, output_tokens: 186 }, content: [{ type: 'text', text: 'x'.repeat(200) }] };
function unit(seed) {
  let h = createHash('sha256').update(PAYLOAD).update(String(seed)).digest()[0];
  const parsed = JSON.parse(JSON.stringify({ ...RECORD, seed }));
  for (let i = 0; i < 2000; i++) h = (Math.imul(h, 1103515245) + 12345 + i) | 0;
  return h ^ parsed.seed;
}
let sink = 0;
for (let i = 0; i < ${UNITS_PER_SAMPLE}; i++) sink ^= unit(i); // the JIT warms up first
parentPort.on('message', (units) => {
  const start = performance.now();
  for (let i = 0; i < units; i++) sink ^= unit(i);
  parentPort.postMessage({ usPerUnit: ((performance.now() - start) * 1000) / units, sink: sink === 0.5 });
});
parentPort.postMessage('ready');
`;

/**
 * Runs the reference workload on `threads` worker threads at once, one sample per call to
 * `sample()`. The threads stay (idle) between samples; `close()` ends them.
 */
export class Calibrator {
  private readonly workers: Worker[] = [];
  private readonly ready: Promise<unknown>;
  /** The first error a worker raised while idle: every later sample fails with it. */
  private failure: Error | undefined;

  constructor(readonly threads: number = cpusInUse()) {
    try {
      for (let i = 0; i < threads; i++) {
        const worker = new Worker(WORKER_SOURCE, { eval: true });
        worker.on('error', (error) => (this.failure ??= error));
        this.workers.push(worker);
      }
    } catch (error) {
      for (const worker of this.workers) void worker.terminate();
      throw error;
    }
    this.ready = Promise.all(this.workers.map((w) => once(w)));
    this.ready.catch(() => undefined); // surfaced by sample()
  }

  /** One sample: every thread's wall time per unit, their median, in µs. */
  async sample(units = UNITS_PER_SAMPLE): Promise<number> {
    if (this.failure) throw this.failure;
    await this.ready;
    const answers = this.workers.map((w) => once(w) as Promise<{ usPerUnit: number }>);
    for (const w of this.workers) w.postMessage(units);
    return median((await Promise.all(answers)).map((a) => a.usPerUnit));
  }

  /**
   * Waits for the machine to hold still before measuring: samples until the last
   * `STEADY_SAMPLES` lie within half the band of their median, or `maxMs` has passed. A runner
   * right after `npm ci` is still writing files back and compiling caches for tens of seconds
   * (measured here: the reference workload 4x slower at first, steady after about 30 s).
   */
  async settle(bandPct: number, maxMs: number): Promise<{ steady: boolean; waitedMs: number; samples: number[] }> {
    const started = performance.now();
    const samples: number[] = [];
    for (;;) {
      samples.push(await this.sample());
      const last = samples.slice(-STEADY_SAMPLES);
      const m = median(last);
      const steady = last.length === STEADY_SAMPLES && last.every((x) => Math.abs(x / m - 1) * 100 <= bandPct / 2);
      if (steady || performance.now() - started > maxMs) return { steady, waitedMs: performance.now() - started, samples };
    }
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}

/** The worker's next message; an error, or the worker ending without one, rejects. */
function once(worker: Worker): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const settle = () => {
      worker.off('message', onMessage);
      worker.off('error', onError);
      worker.off('exit', onExit);
    };
    const onMessage = (message: unknown) => {
      settle();
      resolve(message);
    };
    const onError = (error: Error) => {
      settle();
      reject(error);
    };
    const onExit = (code: number) => {
      settle();
      reject(new Error(`a calibration thread ended (exit code ${code}) before it answered`));
    };
    worker.on('message', onMessage);
    worker.on('error', onError);
    worker.on('exit', onExit);
  });
}

/**
 * Whether blocks measured at `current` may be compared with a baseline measured at `stored`:
 * not when the medians of their samples differ by more than `bandPct`, nor when they ran on a
 * different number of CPUs.
 */
export function compareCalibration(stored: Calibration, current: Calibration, bandPct: number): { changePct: number; refusal?: string } {
  const changePct = (median(current.samples) / median(stored.samples) - 1) * 100;
  if (stored.threads !== current.threads) {
    return {
      changePct,
      refusal: `this machine lets the gate use ${current.threads} CPUs and the baseline's machine let it use ${stored.threads}, so their blocks cannot be compared; the gate does not judge. Use the paired mode (gate --against), or record the baseline again on this runner`,
    };
  }
  if (Math.abs(changePct) <= bandPct) return { changePct };
  return {
    changePct,
    refusal: `this machine ran the reference workload ${Math.abs(changePct).toFixed(1)}% ${changePct > 0 ? 'slower' : 'faster'} than the one that recorded the baseline (${median(current.samples).toFixed(2)} against ${median(stored.samples).toFixed(2)} µs a unit on each of ${current.threads} CPUs, measured between the blocks; at most ${bandPct}% is accepted), so its blocks cannot be compared with the baseline's; the gate does not judge. Use the paired mode (gate --against), or record the baseline again on this runner`,
  };
}
