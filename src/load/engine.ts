import { type Clock } from '../clock.js';
import { errorType } from '../errors.js';
import { LatencyRecorder, type PercentileSnapshot } from '../stats/hdr.js';
import type { ArrivalSchedule } from './patterns.js';

/**
 * How the engine waits for the next arrival.
 */
export interface Waker {
  now(): number;
  /** Calls `fn` after about `delayMs`; the returned function cancels it. */
  wake(delayMs: number, fn: () => void): () => void;
}

/**
 * Sleeps on a timer, always. A timer fires up to about a millisecond late, and the open-loop
 * scheduler then releases every arrival that has come due meanwhile in one batch (wrk2's
 * catch-up): each is still measured from its intended start, so the lateness costs no
 * accuracy (coordinated omission is corrected) and shows only as scheduling lag. Waiting
 * costs no CPU, so the generator leaves the machine to the target it measures.
 */
export const systemWaker: Waker = {
  now: () => performance.now(),
  wake(delayMs, fn) {
    const timer = setTimeout(fn, Math.max(0, delayMs));
    return () => clearTimeout(timer);
  },
};

/**
 * The waker before the sleeping one, kept only so that `bench load` can measure the two side by
 * side: it sleeps until about a millisecond before the arrival, then spins on setImmediate.
 * Iterations start within microseconds of their time, and the main thread is busy the whole
 * time it waits (a whole core above about 500 arrivals/s).
 */
export const spinningWaker: Waker = {
  now: () => performance.now(),
  wake(delayMs, fn) {
    if (delayMs > 2) {
      const timer = setTimeout(fn, delayMs - 1.5);
      return () => clearTimeout(timer);
    }
    const immediate = setImmediate(fn);
    return () => clearImmediate(immediate);
  },
};

/** Drives the engine from an injected clock: tests move time by hand. */
export function clockWaker(clock: Clock): Waker {
  return {
    now: () => clock.now(),
    wake(delayMs, fn) {
      const timer = clock.setTimer(fn, Math.max(0, delayMs));
      return () => timer.cancel();
    },
  };
}

export type LoadMode =
  | {
      kind: 'open';
      schedule: ArrivalSchedule;
      /** Iterations in flight at most; an arrival past it is dropped and counted, never delayed. */
      maxInFlight: number;
    }
  | { kind: 'closed'; vus: number; durationMs: number };

export interface EngineOptions {
  mode: LoadMode;
  /** Iterations due (open) or started (closed) before this many ms are warmup: run, not recorded. */
  warmupMs: number;
  /** Stop after this many measured iterations, if it comes before the end of the schedule. */
  iterations?: number;
  /** How long to wait for iterations still in flight once scheduling ends. */
  drainTimeoutMs: number;
  waker?: Waker;
  /** Ends scheduling early (Ctrl-C): what ran so far is reported. */
  signal?: AbortSignal;
  /** Called once a second of measurement with that second's figures. */
  onSecond?: (point: SeriesPoint) => void;
  /** Called for every measured iteration as it ends (the CSV writer); times in ms from the start. */
  onIteration?: (row: IterationRow) => void;
  /** Called when measurement begins (the end of warmup) and when the engine is done, before it returns: a block reads its CPU clocks there. */
  onMeasureStart?: () => void;
  onMeasureEnd?: () => void;
}

export interface IterationRow {
  iteration: number;
  intendedMs: number;
  startMs: number;
  endMs: number;
  error: string | undefined;
}

export interface SeriesPoint {
  /** Seconds since measurement began (1 is the first; the last may be partial). */
  second: number;
  /** Arrivals the schedule made due in this second (open loop): its rate over the second. */
  targetRate: number | undefined;
  started: number;
  completed: number;
  errors: number;
  dropped: number;
  inFlight: number;
  /** Corrected latency of the iterations that ended in this second, in ms. */
  p50: number;
  p95: number;
  p99: number;
}

export interface EngineResult {
  mode: 'open' | 'closed';
  /** From the end of warmup to the last measured iteration's end, in ms. */
  measuredMs: number;
  /** Measured arrivals the schedule made due (open loop). */
  scheduled: number;
  started: number;
  completed: number;
  errors: number;
  errorsByType: Record<string, number>;
  dropped: number;
  /** Still in flight when the drain timeout passed. */
  unfinished: number;
  /** Arrivals per second the schedule asked for over the measured window (open loop). */
  targetRate: number | undefined;
  /** Iterations completed per second over the measured window. */
  throughput: number;
  /** From the intended start (coordinated-omission corrected), in ms. Closed loop: = service. */
  latency: PercentileSnapshot;
  /** From the actual start, in ms. */
  serviceTime: PercentileSnapshot;
  /** Actual start minus intended start, in ms (open loop). */
  schedulingLag: PercentileSnapshot;
  series: SeriesPoint[];
  /** The histograms, encoded (compressed base64), to write HDR logs or merge across generators. */
  encoded: { latency: string; serviceTime: string; schedulingLag: string };
}

type RunIteration = (iteration: number) => unknown;

/**
 * The load engine: starts iterations on an open-loop schedule (each at its own time,
 * independent of earlier ones) or from N closed-loop virtual users, and measures each from
 * its intended start and from its actual start in HDR histograms. Memory stays flat: no
 * per-iteration arrays, fixed-size histograms, one point per second.
 */
export async function runEngine(run: RunIteration, options: EngineOptions): Promise<EngineResult> {
  const waker = options.waker ?? systemWaker;
  const latency = new LatencyRecorder();
  const service = new LatencyRecorder();
  const lag = new LatencyRecorder();
  const errorsByType = new Map<string, number>();
  const series: SeriesPoint[] = [];
  const origin = waker.now();
  const measureFrom = origin + options.warmupMs;
  const limit = options.iterations ?? Number.POSITIVE_INFINITY;

  let inFlight = 0;
  let started = 0;
  let completed = 0;
  let errors = 0;
  let dropped = 0;
  let measuredArrivals = 0;
  let lastEnd = measureFrom;
  let schedulingDone = false;
  let drained: (() => void) | undefined;
  let ended = false;

  const finish = (iteration: number, intended: number, start: number, error: unknown) => {
    // An iteration still running when the run ended (past the drain timeout) may settle later,
    // e.g. when teardown closes its connection: it was counted as unfinished, and the
    // histograms are gone.
    if (ended) return;
    const end = waker.now();
    inFlight--;
    if (intended >= measureFrom) {
      completed++;
      lastEnd = end;
      latency.record(end - intended);
      service.record(end - start);
      let type: string | undefined;
      if (error !== undefined) {
        errors++;
        type = errorType(error);
        errorsByType.set(type, (errorsByType.get(type) ?? 0) + 1);
      }
      options.onIteration?.({ iteration, intendedMs: intended - origin, startMs: start - origin, endMs: end - origin, error: type });
    }
    if (inFlight === 0 && schedulingDone) drained?.();
  };

  const open = options.mode.kind === 'open';
  /**
   * Starts one iteration due at `intended`. Returns true when it finished synchronously;
   * otherwise `after` (a closed-loop user's next step) is called once it ends.
   */
  const launch = (iteration: number, intended: number, after?: () => void): boolean => {
    inFlight++;
    const start = open ? waker.now() : intended;
    if (intended >= measureFrom) {
      started++;
      if (open) lag.record(start - intended);
    }
    let result: unknown;
    try {
      result = run(iteration);
    } catch (error) {
      finish(iteration, intended, start, error ?? new Error('iteration threw'));
      return true;
    }
    if (result !== null && typeof result === 'object' && typeof (result as PromiseLike<unknown>).then === 'function') {
      (result as PromiseLike<unknown>).then(
        () => {
          finish(iteration, intended, start, undefined);
          after?.();
        },
        (error: unknown) => {
          finish(iteration, intended, start, error ?? new Error('iteration rejected'));
          after?.();
        },
      );
      return false;
    }
    finish(iteration, intended, start, undefined);
    return true;
  };

  // One point per second of measurement, from interval snapshots of the corrected histogram.
  let previous = { started: 0, completed: 0, errors: 0, dropped: 0 };
  let cancelTick: () => void;
  const tick = (final = false) => {
    if (final && started === previous.started && completed === previous.completed && dropped === previous.dropped) return;
    const second = series.length + 1;
    const interval = latency.intervalSnapshot();
    const point: SeriesPoint = {
      second,
      targetRate: options.mode.kind === 'open' ? options.mode.schedule.arrivalsBetween(options.warmupMs + (second - 1) * 1000, options.warmupMs + second * 1000) : undefined,
      started: started - previous.started,
      completed: completed - previous.completed,
      errors: errors - previous.errors,
      dropped: dropped - previous.dropped,
      inFlight,
      p50: interval.p50,
      p95: interval.p95,
      p99: interval.p99,
    };
    previous = { started, completed, errors, dropped };
    series.push(point);
    options.onSecond?.(point);
    if (!final) cancelTick = waker.wake(measureFrom + (second + 1) * 1000 - waker.now(), () => tick());
  };
  cancelTick = waker.wake(measureFrom + 1000 - origin, () => tick());
  let cancelMeasureStart = () => {};
  if (options.onMeasureStart) {
    if (options.warmupMs > 0) cancelMeasureStart = waker.wake(options.warmupMs, () => options.onMeasureStart!());
    else options.onMeasureStart();
  }

  const stopped = () => options.signal?.aborted === true || measuredArrivals >= limit;

  if (options.mode.kind === 'open') {
    const { schedule, maxInFlight } = options.mode;
    await new Promise<void>((resolve) => {
      let k = 0;
      const schedule_ = () => {
        const now = waker.now() - origin;
        while (k < schedule.totalArrivals && !stopped()) {
          const due = schedule.timeOf(k);
          if (due > now) {
            waker.wake(due - (waker.now() - origin), schedule_);
            return;
          }
          const intended = origin + due;
          if (intended >= measureFrom) measuredArrivals++;
          if (inFlight >= maxInFlight) {
            if (intended >= measureFrom) dropped++;
          } else launch(k, intended);
          k++;
        }
        resolve();
      };
      schedule_();
    });
  } else {
    const { vus, durationMs } = options.mode;
    const endAt = measureFrom + durationMs;
    let next = 0;
    // Each user is a chain of callbacks, not an async loop: no promise of its own per
    // iteration. Iterations that finish synchronously loop here instead of recursing.
    await new Promise<void>((allDone) => {
      let active = vus;
      const step = (): void => {
        for (;;) {
          const now = waker.now();
          if (now >= endAt || stopped()) {
            if (--active === 0) allDone();
            return;
          }
          if (now >= measureFrom) measuredArrivals++;
          if (!launch(next++, now, step)) return;
        }
      };
      for (let v = 0; v < vus; v++) step();
    });
  }

  schedulingDone = true;
  let unfinished = 0;
  if (inFlight > 0) {
    await new Promise<void>((resolve) => {
      const cancelTimeout = waker.wake(options.drainTimeoutMs, () => {
        unfinished = inFlight;
        resolve();
      });
      drained = () => {
        cancelTimeout();
        resolve();
      };
    });
  }
  cancelTick();
  cancelMeasureStart();
  options.onMeasureEnd?.();
  // The last, partial second, when anything happened in it.
  if (waker.now() > measureFrom) tick(true);

  const measuredMs = Math.max(0, lastEnd - measureFrom);
  const scheduled = options.mode.kind === 'open' ? measuredArrivals : started;
  const result: EngineResult = {
    mode: options.mode.kind,
    measuredMs,
    scheduled,
    started,
    completed,
    errors,
    errorsByType: Object.fromEntries(errorsByType),
    dropped,
    unfinished,
    targetRate: options.mode.kind === 'open' ? averageRate(options.mode.schedule, options.warmupMs) : undefined,
    throughput: measuredMs > 0 ? (completed / measuredMs) * 1000 : 0,
    latency: latency.snapshot(),
    serviceTime: service.snapshot(),
    schedulingLag: lag.snapshot(),
    series,
    encoded: { latency: latency.export(), serviceTime: service.export(), schedulingLag: lag.export() },
  };
  ended = true;
  latency.destroy();
  service.destroy();
  lag.destroy();
  return result;
}

/** The schedule's mean rate over the measured window (after warmup), per second. */
function averageRate(schedule: ArrivalSchedule, warmupMs: number): number {
  const windowMs = schedule.totalMs - warmupMs;
  return windowMs > 0 ? (schedule.arrivalsBetween(warmupMs, schedule.totalMs) / windowMs) * 1000 : 0;
}
