import { agentChannel, cacheEvictionChannel, cacheExpirationChannel, cacheIntegrityChannel, memoryHitChannel, type AgentCallMessage } from '../diagnostics.js';

/** One second of cache activity (or the run's totals). */
export interface CacheCounts {
  /** Hits by tier: `memory`, then each shared tier by its name (`disk`, ...), as they happened. */
  hits: Record<string, number>;
  misses: number;
  /** Calls that did not use the cache (bypass). */
  bypassed: number;
  evictions: number;
  expirations: number;
  integrityFailures: number;
}

const zero = (): CacheCounts => ({ hits: { memory: 0 }, misses: 0, bypassed: 0, evictions: 0, expirations: 0, integrityFailures: 0 });

/** Every hit, whatever the tier. */
export const allHits = (counts: CacheCounts): number => Object.values(counts.hits).reduce((sum, n) => sum + n, 0);

/** Hits over lookups (bypassed calls are not lookups); undefined when there were none. */
export function hitRate(counts: CacheCounts): number | undefined {
  const hits = allHits(counts);
  const lookups = hits + counts.misses;
  return lookups === 0 ? undefined : hits / lookups;
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
    const count = (field: Exclude<keyof CacheCounts, 'hits'>) => () => {
      this.current[field]++;
      this.totals[field]++;
    };
    const hit = (tier: string) => {
      this.current.hits[tier] = (this.current.hits[tier] ?? 0) + 1;
      this.totals.hits[tier] = (this.totals.hits[tier] ?? 0) + 1;
    };
    const plain: Array<[{ subscribe(f: (m: unknown) => void): void; unsubscribe(f: (m: unknown) => void): void }, () => void]> = [
      [memoryHitChannel, () => hit('memory')],
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
        if (message.result?.cached) hit(message.result.cacheTier ?? 'memory');
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
