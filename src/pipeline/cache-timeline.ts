import { agentChannel, cacheEvictionChannel, cacheExpirationChannel, cacheIntegrityChannel, memoryHitChannel, type AgentCallMessage } from '../diagnostics.js';

/** One second of cache activity (or the run's totals). */
export interface CacheCounts {
  memoryHits: number;
  diskHits: number;
  misses: number;
  /** Calls that did not use the cache (bypass). */
  bypassed: number;
  evictions: number;
  expirations: number;
  integrityFailures: number;
}

const zero = (): CacheCounts => ({ memoryHits: 0, diskHits: 0, misses: 0, bypassed: 0, evictions: 0, expirations: 0, integrityFailures: 0 });

/** Hits over lookups (bypassed calls are not lookups); undefined when there were none. */
export function hitRate(counts: CacheCounts): number | undefined {
  const lookups = counts.memoryHits + counts.diskHits + counts.misses;
  return lookups === 0 ? undefined : (counts.memoryHits + counts.diskHits) / lookups;
}

/**
 * The cache's activity second by second, from the core's diagnostics channels (the same ones
 * the instrumentation turns into metrics): `tick()` closes a second and returns its counts.
 */
export class CacheTimeline {
  private current = zero();
  readonly totals = zero();
  private readonly undo: Array<() => void> = [];

  start(): void {
    const count = (field: keyof CacheCounts) => () => {
      this.current[field]++;
      this.totals[field]++;
    };
    const plain: Array<[{ subscribe(f: (m: unknown) => void): void; unsubscribe(f: (m: unknown) => void): void }, () => void]> = [
      [memoryHitChannel, count('memoryHits')],
      [cacheEvictionChannel, count('evictions')],
      [cacheExpirationChannel, count('expirations')],
      [cacheIntegrityChannel, count('integrityFailures')],
    ];
    for (const [channel, handler] of plain) {
      channel.subscribe(handler);
      this.undo.push(() => channel.unsubscribe(handler));
    }
    const calls = {
      asyncEnd: (raw: unknown) => {
        const message = raw as AgentCallMessage;
        if (message.error) return;
        if (message.result?.cached) count(message.result.cacheTier === 'memory' ? 'memoryHits' : 'diskHits')();
        else count(message.cacheResult === 'bypass' ? 'bypassed' : 'misses')();
      },
    };
    agentChannel.subscribe(calls as never);
    this.undo.push(() => agentChannel.unsubscribe(calls as never));
  }

  tick(): CacheCounts {
    const second = this.current;
    this.current = zero();
    return second;
  }

  stop(): void {
    for (const undo of this.undo.splice(0)) undo();
  }
}
