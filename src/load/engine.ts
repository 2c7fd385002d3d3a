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

/**
 * What a streaming iteration resolves with, so that the engine measures its stream: when its
 * first output chunk arrived, on the engine's clock (`performance.now()`), and the time between
 * its later chunks. `timeStream` (scenarios/stream-timing.ts) reads a stream and makes it.
 */
export interface StreamedIteration {
  firstChunkAt: number;
  chunkGapsMs?: readonly number[];
  /** Output tokens per second from the first chunk to the last, when known. */
  outputTokensPerSecond?: number;
}

/** The streams of a run's streaming iterations (absent when none streamed). */
export interface StreamFigures {
  /** Iterations that reported a stream. */
  streams: number;
  /** From the iteration's intended start to its first output chunk (coordinated-omission corrected, like latency), ms. */
  timeToFirstChunk: PercentileSnapshot;
  /** Between each output chunk and the one before it, ms. */
  timePerOutputChunk: PercentileSnapshot;
  /** Per stream; the snapshot's values are tokens per second. */
  outputTokensPerSecond: PercentileSnapshot;
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
  /** Corrected time to first chunk of the streams that ended in this second, ms (a run that streams). */
  ttfcP50?: number;
  ttfcP95?: number;
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
  /** Streaming iterations' figures, when any iteration streamed. */
  stream?: StreamFigures;
  /** The histograms, encoded (compressed base64), to write HDR logs or merge across generators. */
  encoded: {
    latency: string;
    serviceTime: string;
    schedulingLag: string;
    timeToFirstChunk?: string;
    timePerOutputChunk?: string;
    outputTokensPerSecond?: string;
  };
}

type RunIteration = (iteration: number) => unknown;

/**
 * The load engine: starts iterations on an open-loop schedule (each at its own time,
 * independent of earlier ones) or from N closed-loop virtual users, and measures each from
 * its intended start and from its actual start in HDR histograms. Memory stays flat: no
 * per-iteration arrays, fixed-size histograms, one point per second.
 */
export function runEngine(run: RunIteration, options: EngineOptions): Promise<EngineResult> {
  return new LoadEngine(run, options).run();
}

/** Counts at the last per-second point: each point reports what changed since. */
interface Totals {
  started: number;
  completed: number;
  errors: number;
  dropped: number;
}

class LoadEngine {
  private readonly waker: Waker;
  private readonly latency = new LatencyRecorder();
  private readonly service = new LatencyRecorder();
  private readonly lag = new LatencyRecorder();
  /** Made at the first streamed iteration. */
  private stream: { ttfc: LatencyRecorder; chunkGap: LatencyRecorder; tokensPerSecond: LatencyRecorder; count: number } | undefined;
  private readonly errorsByType = new Map<string, number>();
  private readonly series: SeriesPoint[] = [];
  private readonly origin: number;
  /** Iterations intended before it are warmup: run, not recorded. */
  private readonly measureFrom: number;
  private readonly limit: number;
  private readonly open: boolean;

  private inFlight = 0;
  private started = 0;
  private completed = 0;
  private errors = 0;
  private dropped = 0;
  private measuredArrivals = 0;
  private lastEnd: number;
  private schedulingDone = false;
  private unfinished = 0;
  /** Set while draining: called when the last iteration in flight ends. */
  private drained: (() => void) | undefined;
  /** Past the drain timeout: iterations that settle later are not counted (the histograms are gone). */
  private ended = false;
  private previous: Totals = { started: 0, completed: 0, errors: 0, dropped: 0 };
  private cancelTick: () => void = () => {};
  private cancelMeasureStart: () => void = () => {};
  private measuring = false;

  constructor(
    private readonly iterate: RunIteration,
    private readonly options: EngineOptions,
  ) {
    this.waker = options.waker ?? systemWaker;
    this.origin = this.waker.now();
    this.measureFrom = this.origin + options.warmupMs;
    this.lastEnd = this.measureFrom;
    this.limit = options.iterations ?? Number.POSITIVE_INFINITY;
    this.open = options.mode.kind === 'open';
  }

  async run(): Promise<EngineResult> {
    this.startClock();
    if (this.options.mode.kind === 'open') await this.scheduleArrivals(this.options.mode);
    else await this.runVirtualUsers(this.options.mode);
    await this.drain();
    this.stopClock();
    return this.result();
  }

  /** The per-second points, and the measurement's start after warmup. */
  private startClock(): void {
    this.cancelTick = this.waker.wake(this.measureFrom + 1000 - this.origin, () => this.tick());
    const { onMeasureStart, warmupMs } = this.options;
    if (!onMeasureStart) return;
    if (warmupMs > 0) this.cancelMeasureStart = this.waker.wake(warmupMs, () => this.startMeasuring());
    else this.startMeasuring();
  }

  /**
   * Measuring begins: at the end of warm-up, or just before the first measured iteration starts
   * if that comes first (a timer late on a busy machine must not let measured iterations run
   * before it: what onMeasureStart snapshots would then miss them).
   */
  private startMeasuring(): void {
    if (this.measuring) return;
    this.measuring = true;
    this.cancelMeasureStart();
    this.options.onMeasureStart?.();
  }

  /** Open loop: each arrival at its own time; one past `maxInFlight` is dropped and counted, never delayed. */
  private scheduleArrivals({ schedule, maxInFlight }: Extract<LoadMode, { kind: 'open' }>): Promise<void> {
    return new Promise<void>((resolve) => {
      let k = 0;
      const release = () => {
        const now = this.waker.now() - this.origin;
        while (k < schedule.totalArrivals && !this.stopped()) {
          const due = schedule.timeOf(k);
          if (due > now) {
            this.waker.wake(due - (this.waker.now() - this.origin), release);
            return;
          }
          const intended = this.origin + due;
          if (intended >= this.measureFrom) {
            this.startMeasuring();
            this.measuredArrivals++;
          }
          if (this.inFlight >= maxInFlight) {
            if (intended >= this.measureFrom) this.dropped++;
          } else this.launch(k, intended);
          k++;
        }
        resolve();
      };
      release();
    });
  }

  /**
   * Closed loop: each user is a chain of callbacks, not an async loop: no promise of its own per
   * iteration. Iterations that finish synchronously loop here instead of recursing.
   */
  private runVirtualUsers({ vus, durationMs }: Extract<LoadMode, { kind: 'closed' }>): Promise<void> {
    const endAt = this.measureFrom + durationMs;
    let next = 0;
    return new Promise<void>((allDone) => {
      let active = vus;
      const step = (): void => {
        for (;;) {
          const now = this.waker.now();
          if (now >= endAt || this.stopped()) {
            if (--active === 0) allDone();
            return;
          }
          if (now >= this.measureFrom) {
            this.startMeasuring();
            this.measuredArrivals++;
          }
          if (!this.launch(next++, now, step)) return;
        }
      };
      for (let v = 0; v < vus; v++) step();
    });
  }

  /** Waits for the iterations still in flight, up to the drain timeout (the rest are `unfinished`). */
  private async drain(): Promise<void> {
    this.schedulingDone = true;
    if (this.inFlight === 0) return;
    await new Promise<void>((resolve) => {
      const cancelTimeout = this.waker.wake(this.options.drainTimeoutMs, () => {
        this.unfinished = this.inFlight;
        resolve();
      });
      this.drained = () => {
        cancelTimeout();
        resolve();
      };
    });
  }

  private stopClock(): void {
    this.cancelTick();
    this.cancelMeasureStart();
    this.options.onMeasureEnd?.();
    // The last, partial second, when anything happened in it.
    if (this.waker.now() > this.measureFrom) this.tick(true);
  }

  private result(): EngineResult {
    const { mode, warmupMs } = this.options;
    const measuredMs = Math.max(0, this.lastEnd - this.measureFrom);
    const result: EngineResult = {
      mode: mode.kind,
      measuredMs,
      scheduled: mode.kind === 'open' ? this.measuredArrivals : this.started,
      started: this.started,
      completed: this.completed,
      errors: this.errors,
      errorsByType: Object.fromEntries(this.errorsByType),
      dropped: this.dropped,
      unfinished: this.unfinished,
      targetRate: mode.kind === 'open' ? averageRate(mode.schedule, warmupMs) : undefined,
      throughput: measuredMs > 0 ? (this.completed / measuredMs) * 1000 : 0,
      latency: this.latency.snapshot(),
      serviceTime: this.service.snapshot(),
      schedulingLag: this.lag.snapshot(),
      series: this.series,
      encoded: { latency: this.latency.export(), serviceTime: this.service.export(), schedulingLag: this.lag.export() },
    };
    const stream = this.stream;
    if (stream) {
      result.stream = {
        streams: stream.count,
        timeToFirstChunk: stream.ttfc.snapshot(),
        timePerOutputChunk: stream.chunkGap.snapshot(),
        outputTokensPerSecond: stream.tokensPerSecond.snapshot(),
      };
      result.encoded.timeToFirstChunk = stream.ttfc.export();
      result.encoded.timePerOutputChunk = stream.chunkGap.export();
      result.encoded.outputTokensPerSecond = stream.tokensPerSecond.export();
      for (const recorder of [stream.ttfc, stream.chunkGap, stream.tokensPerSecond]) recorder.destroy();
    }
    this.ended = true;
    this.latency.destroy();
    this.service.destroy();
    this.lag.destroy();
    return result;
  }

  private stopped(): boolean {
    return this.options.signal?.aborted === true || this.measuredArrivals >= this.limit;
  }

  /**
   * Starts one iteration due at `intended`. Returns true when it finished synchronously;
   * otherwise `after` (a closed-loop user's next step) is called once it ends.
   */
  private launch(iteration: number, intended: number, after?: () => void): boolean {
    this.inFlight++;
    const start = this.open ? this.waker.now() : intended;
    if (intended >= this.measureFrom) {
      this.started++;
      if (this.open) this.lag.record(start - intended);
    }
    let result: unknown;
    try {
      result = this.iterate(iteration);
    } catch (error) {
      this.finish(iteration, intended, start, error ?? new Error('iteration threw'));
      return true;
    }
    if (result !== null && typeof result === 'object' && typeof (result as PromiseLike<unknown>).then === 'function') {
      (result as PromiseLike<unknown>).then(
        (value) => {
          this.finish(iteration, intended, start, undefined, value);
          after?.();
        },
        (error: unknown) => {
          this.finish(iteration, intended, start, error ?? new Error('iteration rejected'));
          after?.();
        },
      );
      return false;
    }
    this.finish(iteration, intended, start, undefined, result);
    return true;
  }

  private finish(iteration: number, intended: number, start: number, error: unknown, value?: unknown): void {
    // An iteration still running when the run ended (past the drain timeout) may settle later,
    // e.g. when teardown closes its connection: it was counted as unfinished, and the
    // histograms are gone.
    if (this.ended) return;
    const end = this.waker.now();
    this.inFlight--;
    if (intended >= this.measureFrom) {
      this.completed++;
      this.lastEnd = end;
      this.latency.record(end - intended);
      this.service.record(end - start);
      // One property read per iteration: a streaming iteration's value says when its first chunk came.
      const firstChunkAt = (value as Partial<StreamedIteration> | null | undefined)?.firstChunkAt;
      if (typeof firstChunkAt === 'number') this.recordStream(value as StreamedIteration, intended);
      let type: string | undefined;
      if (error !== undefined) {
        this.errors++;
        type = errorType(error);
        this.errorsByType.set(type, (this.errorsByType.get(type) ?? 0) + 1);
      }
      this.options.onIteration?.({ iteration, intendedMs: intended - this.origin, startMs: start - this.origin, endMs: end - this.origin, error: type });
    }
    if (this.inFlight === 0 && this.schedulingDone) this.drained?.();
  }

  private recordStream(streamed: StreamedIteration, intended: number): void {
    const stream = (this.stream ??= { ttfc: new LatencyRecorder(), chunkGap: new LatencyRecorder(), tokensPerSecond: new LatencyRecorder(), count: 0 });
    stream.count++;
    stream.ttfc.record(streamed.firstChunkAt - intended);
    if (streamed.chunkGapsMs) for (const gap of streamed.chunkGapsMs) stream.chunkGap.record(gap);
    // Recorded on the millisecond scale: the snapshot's values read as tokens per second.
    if (streamed.outputTokensPerSecond !== undefined) stream.tokensPerSecond.record(streamed.outputTokensPerSecond);
  }

  /** One point per second of measurement, from interval snapshots of the corrected histogram. */
  private tick(final = false): void {
    const previous = this.previous;
    if (final && this.started === previous.started && this.completed === previous.completed && this.dropped === previous.dropped) return;
    const second = this.series.length + 1;
    const interval = this.latency.intervalSnapshot();
    const { mode, warmupMs } = this.options;
    const point: SeriesPoint = {
      second,
      targetRate: mode.kind === 'open' ? mode.schedule.arrivalsBetween(warmupMs + (second - 1) * 1000, warmupMs + second * 1000) : undefined,
      started: this.started - previous.started,
      completed: this.completed - previous.completed,
      errors: this.errors - previous.errors,
      dropped: this.dropped - previous.dropped,
      inFlight: this.inFlight,
      p50: interval.p50,
      p95: interval.p95,
      p99: interval.p99,
    };
    if (this.stream) {
      const ttfc = this.stream.ttfc.intervalSnapshot();
      // A second in which no stream ended has no figure (not a zero).
      if (ttfc.count > 0) {
        point.ttfcP50 = ttfc.p50;
        point.ttfcP95 = ttfc.p95;
      }
    }
    this.previous = { started: this.started, completed: this.completed, errors: this.errors, dropped: this.dropped };
    this.series.push(point);
    this.options.onSecond?.(point);
    if (!final) this.cancelTick = this.waker.wake(this.measureFrom + (second + 1) * 1000 - this.waker.now(), () => this.tick());
  }
}

/** The schedule's mean rate over the measured window (after warmup), per second. */
function averageRate(schedule: ArrivalSchedule, warmupMs: number): number {
  const windowMs = schedule.totalMs - warmupMs;
  return windowMs > 0 ? (schedule.arrivalsBetween(warmupMs, schedule.totalMs) / windowMs) * 1000 : 0;
}
