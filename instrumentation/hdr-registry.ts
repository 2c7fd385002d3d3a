import { buildMicrosecondHistogram, LatencyRecorder, snapshotOf, type PercentileSnapshot } from '../src/stats/hdr.js';

export { LatencyRecorder, mergeSnapshots, type PercentileSnapshot } from '../src/stats/hdr.js';

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
    const merged = buildMicrosecondHistogram();
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
