import * as hdr from 'hdr-histogram-js';

// WebAssembly histograms record in about 0.02 µs against about 0.09 µs for the JS ones.
hdr.initWebAssemblySync();

export interface PercentileSnapshot {
  count: number;
  /** All in milliseconds. */
  p50: number;
  p90: number;
  p95: number;
  p99: number;
  p999: number;
  max: number;
  mean: number;
}

// Microsecond resolution, up to an hour, 3 significant digits.
const MAX_US = 3_600_000_000;

function build(): hdr.Histogram {
  return hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: MAX_US, numberOfSignificantValueDigits: 3, useWebAssembly: true });
}

export function snapshotOf(histogram: hdr.Histogram): PercentileSnapshot {
  const ms = (us: number) => us / 1000;
  // A percentile is reported as its bucket's highest equivalent value, which can pass the
  // maximum actually recorded by up to one bucket width: cap it there.
  const max = histogram.maxValue;
  const at = (p: number) => ms(Math.min(histogram.getValueAtPercentile(p), max));
  return {
    count: histogram.totalCount,
    p50: at(50),
    p90: at(90),
    p95: at(95),
    p99: at(99),
    p999: at(99.9),
    max: ms(max),
    mean: ms(histogram.mean),
  };
}

/**
 * One latency series in one histogram: a record is a single WebAssembly call. Interval
 * snapshots (what a per-second series needs) are the difference from the previous interval
 * mark, computed when asked, so recording never touches a second histogram.
 */
export class LatencyRecorder {
  readonly histogram = build();
  private mark = build();

  /** Records a duration in milliseconds. */
  record(ms: number): void {
    this.histogram.recordValue(Math.min(MAX_US, Math.max(1, Math.round(ms * 1000))));
  }

  snapshot(): PercentileSnapshot {
    return snapshotOf(this.histogram);
  }

  /** What was recorded since the previous call (or since start). */
  intervalSnapshot(): PercentileSnapshot {
    const interval = this.histogram.copyCorrectedForCoordinatedOmission(0);
    interval.subtract(this.mark);
    const snapshot = snapshotOf(interval);
    this.mark.destroy();
    this.mark = this.histogram.copyCorrectedForCoordinatedOmission(0);
    interval.destroy();
    return snapshot;
  }

  /** The whole-run histogram, encoded, e.g. to merge with other processes' recordings. */
  export(): string {
    return hdr.encodeIntoCompressedBase64(this.histogram);
  }

  destroy(): void {
    this.histogram.destroy();
    this.mark.destroy();
  }
}

/** Merges encoded histograms (from `export()`, possibly from other processes) into one snapshot. */
export function mergeSnapshots(encoded: readonly string[]): PercentileSnapshot {
  const merged = build();
  for (const e of encoded) {
    const h = hdr.decodeFromCompressedBase64(e, 32, true);
    merged.add(h);
    h.destroy();
  }
  const snapshot = snapshotOf(merged);
  merged.destroy();
  return snapshot;
}

/**
 * The in-process latency histograms agentperf keeps. A memory hit is recorded once, in
 * `memoryHits` (it is both an agent call and a memory cache get); every other call in
 * `upstreamCalls`. `agentLatency()` merges the two when read.
 */
export class HdrRegistry {
  readonly upstreamCalls = new LatencyRecorder();
  readonly memoryHits = new LatencyRecorder();
  readonly queueWait = new LatencyRecorder();
  readonly diskGets = new LatencyRecorder();

  /** Every agent call, memory hits included. */
  agentLatency(): PercentileSnapshot {
    const merged = build();
    merged.add(this.upstreamCalls.histogram);
    merged.add(this.memoryHits.histogram);
    const snapshot = snapshotOf(merged);
    merged.destroy();
    return snapshot;
  }

  snapshot(): Record<'agentLatency' | 'queueWait' | 'cacheGetMemory' | 'cacheGetDisk', PercentileSnapshot> {
    return {
      agentLatency: this.agentLatency(),
      queueWait: this.queueWait.snapshot(),
      cacheGetMemory: this.memoryHits.snapshot(),
      cacheGetDisk: this.diskGets.snapshot(),
    };
  }

  destroy(): void {
    for (const r of [this.upstreamCalls, this.memoryHits, this.queueWait, this.diskGets]) r.destroy();
  }
}
