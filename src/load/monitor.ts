import { readFileSync } from 'node:fs';
import { monitorEventLoopDelay, performance, PerformanceObserver, type IntervalHistogram } from 'node:perf_hooks';

export interface ProcessSample {
  /** Seconds since monitoring began. */
  atS: number;
  /** CPU over the last interval, in % of one core (above 100 with several threads busy). */
  cpuPct: number;
  /** The main thread's busy share of the interval (event-loop utilisation), in %. */
  mainThreadBusyPct?: number;
  rssBytes: number;
  heapUsedBytes?: number;
}

export interface ResourceSummary {
  generator: {
    cpuMeanPct: number;
    cpuMaxPct: number;
    /** Event-loop utilisation: the share of time the main thread was busy, in %. */
    mainThreadBusyMeanPct: number;
    mainThreadBusyMaxPct: number;
    rssStartBytes: number;
    rssEndBytes: number;
    rssMaxBytes: number;
    heapUsedMaxBytes: number;
    /** Event-loop delay (monitorEventLoopDelay), in ms. */
    eventLoopDelay: { p50: number; p99: number; max: number };
    gc: { count: number; totalPauseMs: number; maxPauseMs: number };
    /** Process CPU (user + system, every thread) from start to stop, in µs: CPU per request is this over the requests. */
    cpuUs: number;
    samples: ProcessSample[];
  };
  /** The local process serving the target, when one is known (read from /proc). */
  target?: { pid: number; cpuMeanPct: number; cpuMaxPct: number; rssStartBytes: number; rssEndBytes: number; rssMaxBytes: number; samples: ProcessSample[] };
}

const CLOCK_TICKS_PER_S = 100; // USER_HZ on Linux
// monitorEventLoopDelay records each sampling interval whole (10.2 ms for a 0.2 ms delay).
const DELAY_RESOLUTION_MS = 10;

/** CPU seconds and RSS of a process, from /proc; undefined when it cannot be read. */
export function readProcStat(pid: number): { cpuS: number; rssBytes: number } | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name, which is in parentheses and may hold spaces.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const utime = Number(fields[11]);
    const stime = Number(fields[12]);
    const rssPages = Number(fields[21]);
    return { cpuS: (utime + stime) / CLOCK_TICKS_PER_S, rssBytes: rssPages * 4096 };
  } catch {
    return undefined;
  }
}

/**
 * Samples the generator process (CPU, RSS, heap, event-loop delay, GC pauses) and, when given
 * a pid, the target process, once per `intervalMs`. Nothing is kept per request.
 */
export class ResourceMonitor {
  private readonly delay: IntervalHistogram = monitorEventLoopDelay({ resolution: DELAY_RESOLUTION_MS });
  private readonly gc = { count: 0, totalPauseMs: 0, maxPauseMs: 0 };
  private readonly observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      this.gc.count++;
      this.gc.totalPauseMs += entry.duration;
      this.gc.maxPauseMs = Math.max(this.gc.maxPauseMs, entry.duration);
    }
  });
  private readonly generatorSamples: ProcessSample[] = [];
  private readonly targetSamples: ProcessSample[] = [];
  private timer: NodeJS.Timeout | undefined;
  private startedAt = 0;
  private last = { at: 0, cpu: process.cpuUsage(), elu: performance.eventLoopUtilization(), targetCpuS: 0 };
  private cpuAtStart = process.cpuUsage();
  private rssStart = 0;
  private targetRssStart = 0;

  constructor(private readonly options: { intervalMs?: number; targetPid?: number } = {}) {}

  start(): void {
    this.delay.enable();
    this.observer.observe({ entryTypes: ['gc'] });
    this.startedAt = performance.now();
    this.rssStart = process.memoryUsage.rss();
    const target = this.options.targetPid === undefined ? undefined : readProcStat(this.options.targetPid);
    this.targetRssStart = target?.rssBytes ?? 0;
    this.cpuAtStart = process.cpuUsage();
    this.last = { at: this.startedAt, cpu: this.cpuAtStart, elu: performance.eventLoopUtilization(), targetCpuS: target?.cpuS ?? 0 };
    this.timer = setInterval(() => this.sample(), this.options.intervalMs ?? 1000);
    this.timer.unref();
  }

  private sample(): void {
    const now = performance.now();
    const elapsedS = (now - this.last.at) / 1000;
    if (elapsedS <= 0) return;
    const cpu = process.cpuUsage(this.last.cpu);
    const memory = process.memoryUsage();
    const atS = (now - this.startedAt) / 1000;
    const elu = performance.eventLoopUtilization(this.last.elu);
    this.generatorSamples.push({
      atS,
      cpuPct: ((cpu.user + cpu.system) / 1e6 / elapsedS) * 100,
      mainThreadBusyPct: elu.utilization * 100,
      rssBytes: memory.rss,
      heapUsedBytes: memory.heapUsed,
    });
    let targetCpuS = this.last.targetCpuS;
    if (this.options.targetPid !== undefined) {
      const target = readProcStat(this.options.targetPid);
      if (target) {
        this.targetSamples.push({ atS, cpuPct: ((target.cpuS - this.last.targetCpuS) / elapsedS) * 100, rssBytes: target.rssBytes });
        targetCpuS = target.cpuS;
      }
    }
    this.last = { at: now, cpu: process.cpuUsage(), elu: performance.eventLoopUtilization(), targetCpuS };
  }

  stop(): ResourceSummary {
    const cpu = process.cpuUsage(this.cpuAtStart);
    this.sample();
    if (this.timer) clearInterval(this.timer);
    this.observer.disconnect();
    this.delay.disable();
    const delayMs = (ns: number) => (Number.isFinite(ns) && ns > 0 ? Math.max(0, ns / 1e6 - DELAY_RESOLUTION_MS) : 0);
    const summary: ResourceSummary = {
      generator: {
        ...cpuAndRss(this.generatorSamples, this.rssStart),
        mainThreadBusyMeanPct: mean(this.generatorSamples.map((s) => s.mainThreadBusyPct ?? 0)),
        mainThreadBusyMaxPct: Math.max(0, ...this.generatorSamples.map((s) => s.mainThreadBusyPct ?? 0)),
        heapUsedMaxBytes: Math.max(0, ...this.generatorSamples.map((s) => s.heapUsedBytes ?? 0)),
        eventLoopDelay: { p50: delayMs(this.delay.percentile(50)), p99: delayMs(this.delay.percentile(99)), max: delayMs(this.delay.max) },
        gc: { ...this.gc },
        cpuUs: cpu.user + cpu.system,
        samples: this.generatorSamples,
      },
    };
    if (this.options.targetPid !== undefined && this.targetSamples.length > 0) {
      summary.target = { pid: this.options.targetPid, ...cpuAndRss(this.targetSamples, this.targetRssStart), samples: this.targetSamples };
    }
    return summary;
  }
}

const mean = (values: readonly number[]) => (values.length ? values.reduce((a, b) => a + b, 0) / values.length : 0);

function cpuAndRss(samples: readonly ProcessSample[], rssStart: number) {
  const cpu = samples.map((s) => s.cpuPct);
  return {
    cpuMeanPct: mean(cpu),
    cpuMaxPct: cpu.length ? Math.max(...cpu) : 0,
    rssStartBytes: rssStart,
    rssEndBytes: samples.at(-1)?.rssBytes ?? rssStart,
    rssMaxBytes: Math.max(rssStart, ...samples.map((s) => s.rssBytes)),
  };
}

export interface TrustVerdict {
  trusted: boolean;
  reasons: string[];
}

/**
 * Whether the generator kept up. A saturated generator measures itself: its main thread busy
 * nearly all the time (the event loop is one thread: process CPU also counts worker threads,
 * such as the simulator's, and GC threads), or its event loop late most of the time, by a
 * delay large next to the latencies it reports (each iteration's timing carries that delay).
 *
 * Saturation, not work: the delay judged is the median, not the p99. A fast in-process service
 * driven at a fixed rate has a p99 delay made of its GC pauses and JIT compiles, which dwarfs
 * its sub-millisecond latencies while the main thread is mostly idle (18-22% busy in the case
 * that was wrongly called saturated); a saturated loop is late at its median.
 */
export function judgeGenerator(resources: ResourceSummary, latencyMeanMs: number): TrustVerdict {
  const reasons: string[] = [];
  const g = resources.generator;
  if (g.mainThreadBusyMeanPct >= 90)
    reasons.push(`the generator's main thread was busy ${g.mainThreadBusyMeanPct.toFixed(0)}% of the time (at or above 90%): it may be measuring itself`);
  const delay = g.eventLoopDelay.p50;
  // A few milliseconds are ordinary; past that, the delay is large when it reaches half the
  // mean latency measured (the mean, not the median: a mix of cache hits and misses has its
  // median at the boundary between them).
  if (delay > 5 && delay > latencyMeanMs * 0.5)
    reasons.push(
      `the generator's event loop was late by ${delay.toFixed(1)} ms at the median, large next to the mean latency ${latencyMeanMs.toFixed(1)} ms (over half of it): it could not keep up`,
    );
  return { trusted: reasons.length === 0, reasons };
}
