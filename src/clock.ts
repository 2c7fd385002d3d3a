import type { AbortLike } from './cancellation.js';

/**
 * Time is injected (DESIGN.md, seam 4): TTLs, backoff, cooldowns, deadlines and schedulers
 * take a Clock, so tests drive time by hand and never sleep.
 */
export interface TimerHandle {
  cancel(): void;
}

export interface Clock {
  /** Milliseconds, monotonic, arbitrary origin. */
  now(): number;
  /**
   * Calls `callback` after `ms`; the handle cancels it. Real timers are unref'd (deadlines,
   * sweeps: nothing should stay alive for them) unless `keepAlive`: a timer that work in
   * progress waits for must hold the process, or it ends with that work unfinished.
   */
  setTimer(callback: () => void, ms: number, options?: { keepAlive?: boolean }): TimerHandle;
  /** Resolves after `ms`, or rejects with the signal's reason when it aborts first. Its real timer holds the process (someone awaits it). */
  sleep(ms: number, signal?: AbortLike): Promise<void>;
}

/** A real timer is its own handle: no wrapper object per timer on the hot path. */
class SystemTimer implements TimerHandle {
  private readonly timeout: NodeJS.Timeout;

  constructor(callback: () => void, ms: number, keepAlive: boolean) {
    this.timeout = setTimeout(callback, ms);
    if (!keepAlive) this.timeout.unref();
  }

  cancel(): void {
    clearTimeout(this.timeout);
  }
}

export const systemClock: Clock = {
  now: () => performance.now(),
  setTimer: (callback, ms, options) => new SystemTimer(callback, ms, options?.keepAlive === true),
  sleep(ms, signal) {
    return sleepWith(this, ms, signal);
  },
};

/**
 * A sleep built on any clock's timers, ended early by an abort. Its timer keeps the process
 * alive: a call sleeping before its retry (a 529 with retry-after) may be all that is left to
 * do, and the process must not end under it.
 */
export function sleepWith(clock: Pick<Clock, 'setTimer'>, ms: number, signal?: AbortLike): Promise<void> {
  if (signal?.aborted) return Promise.reject(signal.reason);
  return new Promise((resolve, reject) => {
    const unsubscribe = signal?.onAbort(() => {
      timer.cancel();
      reject(signal.reason);
    });
    const timer = clock.setTimer(
      () => {
        unsubscribe?.();
        resolve();
      },
      ms,
      { keepAlive: true },
    );
  });
}

interface ManualTimer {
  dueAt: number;
  seq: number;
  callback: () => void;
  cancelled: boolean;
}

/**
 * A clock that moves only when told. `advance(ms)` fires every timer that falls due, in order.
 * With `autoAdvanceSleeps`, `sleep(ms)` moves time forward by itself (firing timers due on the
 * way), which suits tests of backoff where nothing else should happen meanwhile.
 */
export class ManualClock implements Clock {
  private current: number;
  private seq = 0;
  private timers: ManualTimer[] = [];
  /** Every `sleep` duration requested, in order: what tests assert backoff against. */
  readonly sleeps: number[] = [];

  constructor(private readonly options: { start?: number; autoAdvanceSleeps?: boolean } = {}) {
    this.current = options.start ?? 0;
  }

  now(): number {
    return this.current;
  }

  setTimer(callback: () => void, ms: number): TimerHandle {
    const timer: ManualTimer = { dueAt: this.current + Math.max(0, ms), seq: this.seq++, callback, cancelled: false };
    this.timers.push(timer);
    return {
      cancel: () => {
        timer.cancelled = true;
      },
    };
  }

  sleep(ms: number, signal?: AbortLike): Promise<void> {
    this.sleeps.push(ms);
    if (this.options.autoAdvanceSleeps) {
      if (signal?.aborted) return Promise.reject(signal.reason);
      this.advance(ms);
      return Promise.resolve();
    }
    return sleepWith(this, ms, signal);
  }

  /**
   * Moves time forward without firing timers, as a blocked event loop does: the timers that
   * fell due meanwhile fire, late, at the next `advance()`.
   */
  stall(ms: number): void {
    this.current += ms;
  }

  /** Moves time forward by `ms`, firing due timers in due order. */
  advance(ms: number): void {
    const target = this.current + ms;
    for (;;) {
      const next = this.nextDue(target);
      if (!next) break;
      // A timer that fell due during a stall fires now, not back in time.
      this.current = Math.max(this.current, next.dueAt);
      this.timers.splice(this.timers.indexOf(next), 1);
      next.callback();
    }
    this.current = target;
  }

  private nextDue(limit: number): ManualTimer | undefined {
    let best: ManualTimer | undefined;
    for (const t of this.timers) {
      if (t.cancelled || t.dueAt > limit) continue;
      if (!best || t.dueAt < best.dueAt || (t.dueAt === best.dueAt && t.seq < best.seq)) best = t;
    }
    return best;
  }
}
