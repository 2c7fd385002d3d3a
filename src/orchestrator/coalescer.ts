import { Cancellation } from '../cancellation.js';
import { AbortedError } from '../errors.js';

export class Flight<T, Trace = unknown> {
  promise!: Promise<T>;
  constructor(readonly key: string) {}
  /**
   * The diagnostics message of the traced call that started this flight, when tracing is on:
   * attempts and retries name it, so instrumentation can attach them to that call's span.
   */
  trace: Trace | undefined;
  /** Callers waiting on this flight; the flight is cancelled when the last one leaves. */
  waiters = 1;
  private cancel: Cancellation | undefined;

  /** Created on first use: most flights are never cancelled, and most never ask. */
  get cancellation(): Cancellation {
    return (this.cancel ??= new Cancellation());
  }

  get cancelled(): boolean {
    return this.cancel?.aborted ?? false;
  }
}

/**
 * Identical requests in flight at the same moment share one upstream call. Each caller keeps
 * its own AbortSignal: leaving early rejects only that caller (with AbortedError), and the
 * shared call is cancelled only when every caller has left.
 *
 * The API is split in two (join, then wait) so that the common case, a caller without a
 * signal, awaits the shared promise itself and allocates nothing more.
 */
export class Coalescer<T, Trace = unknown> {
  /** The flight each key may join. */
  private readonly flights = new Map<string, Flight<T, Trace>>();
  /** Every flight not yet settled, joinable or not (a cancelled one is still winding down). */
  private readonly running = new Set<Flight<T, Trace>>();

  /** Every shared call now in flight (close() waits for or cancels them). */
  inFlight(): Array<Flight<T, Trace>> {
    return [...this.running];
  }

  /**
   * The flight in progress for `key`, now with one more waiter; undefined when there is none.
   * A flight every caller has left is cancelled and never joined: a new caller would inherit
   * someone else's abort. (`leave` forgets it at once; the check is the guarantee.)
   */
  join(key: string): Flight<T, Trace> | undefined {
    const flight = this.flights.get(key);
    if (!flight || flight.waiters === 0 || flight.cancelled) return undefined;
    flight.waiters++;
    return flight;
  }

  /** Starts the flight for `key`; `start` must call `finish(key, flight)` when it settles. */
  start(key: string, start: (flight: Flight<T, Trace>) => Promise<T>): Flight<T, Trace> {
    const flight = new Flight<T, Trace>(key);
    this.flights.set(key, flight);
    this.running.add(flight);
    flight.promise = start(flight);
    return flight;
  }

  /** Forgets the flight for `key` (called by the flight itself as it settles). */
  finish(key: string, flight: Flight<T, Trace>): void {
    this.running.delete(flight);
    this.forget(key, flight);
  }

  /** No caller joins this flight any more. */
  private forget(key: string, flight: Flight<T, Trace>): void {
    if (this.flights.get(key) === flight) this.flights.delete(key);
  }

  /** Waits for the flight's value, or until this caller's signal aborts. */
  wait(flight: Flight<T>, signal: AbortSignal | undefined): Promise<T> {
    if (!signal) return flight.promise;
    if (signal.aborted) {
      const error = new AbortedError(signal.reason);
      this.leave(flight, error);
      return Promise.reject(error);
    }
    return new Promise((resolve, reject) => {
      const onAbort = () => {
        // The caller's reason travels as `cause`; the error itself keeps a stable code.
        const error = new AbortedError(signal.reason);
        this.leave(flight, error);
        reject(error);
      };
      signal.addEventListener('abort', onAbort, { once: true });
      flight.promise.then(
        (value) => {
          signal.removeEventListener('abort', onAbort);
          resolve(value);
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
    if (flight.waiters === 0) {
      // Forgotten before it is cancelled: the next identical call starts a flight of its own.
      this.forget(flight.key, flight as Flight<T, Trace>);
      flight.cancellation.abort(reason);
    }
  }
}
