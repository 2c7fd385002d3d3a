import { Session } from 'node:inspector/promises';
import v8 from 'node:v8';
import { sourceLocation } from './analyze.js';

/** The V8 sampling heap profile format (`.heapprofile`), as `--heap-prof` writes it. */
export interface HeapProfile {
  head: HeapProfileNode;
  samples?: Array<{ size: number; nodeId: number; ordinal: number }>;
}

export interface HeapProfileNode {
  callFrame: { functionName: string; scriptId: string; url: string; lineNumber: number; columnNumber: number };
  selfSize: number;
  id: number;
  children: HeapProfileNode[];
}

/** 512 KiB, the interval `node --heap-prof` samples at. */
export const DEFAULT_HEAP_SAMPLING_BYTES = 512 * 1024;

/** Samples allocations (V8's sampling heap profiler): cheap enough to leave on for a whole run. */
export class HeapSampler {
  private readonly session = new Session();

  async start(samplingIntervalBytes = DEFAULT_HEAP_SAMPLING_BYTES): Promise<void> {
    this.session.connect();
    await this.session.post('HeapProfiler.enable');
    // Objects collected by GC stay in the profile: it shows where memory was allocated.
    await this.session.post('HeapProfiler.startSampling', {
      samplingInterval: samplingIntervalBytes,
      includeObjectsCollectedByMajorGC: true,
      includeObjectsCollectedByMinorGC: true,
    });
  }

  async stop(): Promise<HeapProfile> {
    const { profile } = await this.session.post('HeapProfiler.stopSampling');
    await this.session.post('HeapProfiler.disable');
    this.session.disconnect();
    return profile as unknown as HeapProfile;
  }
}

export interface AllocationSite {
  name: string;
  location: string;
  selfBytes: number;
  pct: number;
}

/** Allocation sites by bytes sampled there (self), largest first. */
export function topAllocationSites(profile: HeapProfile, top = 15, root?: string): AllocationSite[] {
  const sites = new Map<string, AllocationSite>();
  let total = 0;
  const walk = (node: HeapProfileNode) => {
    total += node.selfSize;
    if (node.selfSize > 0) {
      const name = node.callFrame.functionName || '(anonymous)';
      const location = sourceLocation(node.callFrame, root);
      const key = `${name} ${location}`;
      const site = sites.get(key) ?? { name, location, selfBytes: 0, pct: 0 };
      site.selfBytes += node.selfSize;
      sites.set(key, site);
    }
    for (const child of node.children) walk(child);
  };
  walk(profile.head);
  return [...sites.values()]
    .map((s) => ({ ...s, pct: total ? (100 * s.selfBytes) / total : 0 }))
    .sort((a, b) => b.selfBytes - a.selfBytes)
    .slice(0, top);
}

/**
 * Writes a heap snapshot (`.heapsnapshot`, for Chrome DevTools' Memory tab) of this process.
 * It pauses the process while V8 walks the heap and needs about twice the heap in memory:
 * take it on request, not routinely.
 */
export function writeHeapSnapshot(file: string): string {
  return v8.writeHeapSnapshot(file);
}
