import { buildMicrosecondHistogram, LatencyRecorder, snapshotOf, type HdrSnapshot, type PercentileSnapshot } from '../src/stats/hdr.js';

export { LatencyRecorder, mergeSnapshots, type HdrSnapshot, type PercentileSnapshot } from '../src/stats/hdr.js';

/**
 * The in-process latency histograms agentperf keeps. A memory hit is recorded once, in
 * `memoryHits` (it is both an agent call and a memory cache get); every other call in
 * `upstreamCalls`. `agentLatency()` merges the two when read. Each shared cache tier's gets
 * have their own, by the tier's name.
 */
export class HdrRegistry {
  readonly upstreamCalls = new LatencyRecorder();
  readonly memoryHits = new LatencyRecorder();
  readonly queueWait = new LatencyRecorder();
  /** Streamed calls: time to first chunk, every later chunk's time since the one before, and output tokens per second per stream. */
  readonly streamTimeToFirstChunk = new LatencyRecorder();
  readonly streamChunkGap = new LatencyRecorder();
  /** Recorded on the millisecond scale: a snapshot's values read as tokens per second. */
  readonly streamTokensPerSecond = new LatencyRecorder();
  /** Gets of each shared cache tier (`disk`, ...), made on the tier's first get. */
  private readonly tierGets = new Map<string, LatencyRecorder>();

  /** Every agent call, memory hits included. */
  agentLatency(): PercentileSnapshot {
    const merged = buildMicrosecondHistogram();
    merged.add(this.upstreamCalls.histogram);
    merged.add(this.memoryHits.histogram);
    const snapshot = snapshotOf(merged);
    merged.destroy();
    return snapshot;
  }

  /** The histogram of one shared tier's gets. */
  tierGet(tier: string): LatencyRecorder {
    let recorder = this.tierGets.get(tier);
    if (!recorder) this.tierGets.set(tier, (recorder = new LatencyRecorder()));
    return recorder;
  }

  snapshot(): HdrSnapshot {
    const snapshot: HdrSnapshot = {
      agentLatency: this.agentLatency(),
      queueWait: this.queueWait.snapshot(),
      cacheGetMemory: this.memoryHits.snapshot(),
      cacheGetTiers: Object.fromEntries([...this.tierGets].map(([tier, recorder]) => [tier, recorder.snapshot()])),
    };
    // Only a run that streamed has them (a record without streams keeps its shape).
    if (this.streamTimeToFirstChunk.histogram.totalCount > 0)
      snapshot.streams = {
        timeToFirstChunk: this.streamTimeToFirstChunk.snapshot(),
        timePerOutputChunk: this.streamChunkGap.snapshot(),
        outputTokensPerSecond: this.streamTokensPerSecond.snapshot(),
      };
    return snapshot;
  }

  destroy(): void {
    for (const r of [
      this.upstreamCalls,
      this.memoryHits,
      this.queueWait,
      this.streamTimeToFirstChunk,
      this.streamChunkGap,
      this.streamTokensPerSecond,
      ...this.tierGets.values(),
    ])
      r.destroy();
  }
}
