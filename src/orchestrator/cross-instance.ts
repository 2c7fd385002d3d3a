/**
 * The orchestrator's seam for single-flight across instances (src/redis/single-flight.ts is
 * the one there is): after a miss, before going upstream, a call either leads (it goes
 * upstream, and releases its lease once its answer is stored), is answered by the instance
 * that leads it, or goes alone (no shared store, the leader gone, the wait's bound passed).
 */
import type { CachedResponse } from '../cache/response-cache.js';
import type { AbortLike } from '../cancellation.js';

export interface FlightLease {
  /** The call ended (its answer stored, or it failed): others may go now. */
  release(): void;
}

export type FlightJoin = { kind: 'lead'; lease: FlightLease } | { kind: 'answered'; value: CachedResponse } | { kind: 'alone'; reason: 'redis' | 'timeout' };

export interface CrossInstanceFlight {
  /** `deadlineAt` on the orchestrator's clock: a waiter never waits past its call's deadline. */
  join(key: string, cancellation: AbortLike, deadlineAt: number): Promise<FlightJoin>;
}
