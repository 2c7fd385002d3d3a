import { Cancellation } from '../cancellation.ts';

interface Flight<T> {
  promise: Promise<T>;
  cancellation: Cancellation;
  waiters: number;
}

/**
 * Identical requests in flight at the same moment share one upstream call. Each caller keeps
 * its own AbortSignal: leaving early rejects only that caller, and the shared call is
 * cancelled only when every caller has left.
 */
export class Coalescer<T> {
  private readonly flights = new Map<string, Flight<T>>();

  get size(): number {
    return this.flights.size;
  }

  /** Every shared call now in flight (close() waits for or cancels them). */
  inFlight(): Array<{ promise: Promise<T>; cancellation: Cancellation }> {
    return [...this.flights.values()];
  }

  /**
   * Joins the flight for `key`, or starts one with `start`. Resolves to the shared value and
   * whether this caller joined an existing flight.
   */
  run(key: string, signal: AbortSignal | undefined, start: (cancellation: Cancellation) => Promise<T>): Promise<{ value: T; joined: boolean }> {
    let flight = this.flights.get(key);
    const joined = flight !== undefined;
    if (!flight) {
      const cancellation = new Cancellation();
      const created: Flight<T> = { promise: undefined as unknown as Promise<T>, cancellation, waiters: 0 };
      created.promise = start(cancellation).finally(() => {
        if (this.flights.get(key) === created) this.flights.delete(key);
      });
      this.flights.set(key, created);
      flight = created;
    }
    flight.waiters++;
    const current = flight;
    if (!signal) return current.promise.then((value) => ({ value, joined }));
    if (signal.aborted) {
      this.leave(current, signal.reason);
      return Promise.reject(signal.reason);
    }
    return new Promise((resolve, reject) => {
      const onAbort = () => {
        this.leave(current, signal.reason);
        reject(signal.reason);
      };
      signal.addEventListener('abort', onAbort, { once: true });
      current.promise.then(
        (value) => {
          signal.removeEventListener('abort', onAbort);
          resolve({ value, joined });
        },
        (error: unknown) => {
          signal.removeEventListener('abort', onAbort);
          reject(error);
        },
      );
    });
  }

  private leave(flight: Flight<T>, reason: unknown): void {
    flight.waiters--;
    if (flight.waiters === 0) flight.cancellation.abort(reason);
  }
}
