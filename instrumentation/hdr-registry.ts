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
    return {
      agentLatency: this.agentLatency(),
      queueWait: this.queueWait.snapshot(),
      cacheGetMemory: this.memoryHits.snapshot(),
      cacheGetTiers: Object.fromEntries([...this.tierGets].map(([tier, recorder]) => [tier, recorder.snapshot()])),
    };
  }

  destroy(): void {
    for (const r of [this.upstreamCalls, this.memoryHits, this.queueWait, ...this.tierGets.values()]) r.destroy();
  }
}
