import { ROOT_CONTEXT, type Context, type ContextManager } from '@opentelemetry/api';

/**
 * A synchronous context manager: `with(context, fn)` makes `context` active while `fn` runs
 * and restores the previous one after; nothing follows async continuations.
 *
 * Why not AsyncLocalStorage (OpenTelemetry's default): on Node 20 an AsyncLocalStorage in use
 * turns on promise hooks for every promise in the process. Measured here on the standard
 * workload (zero-latency simulator), that cost 25-35% of throughput even with no span sampled.
 * agentperf does not need ambient context: the core hands the traced call along explicitly
 * (attempt, retry and circuit messages carry it), and the Anthropic SDK reads the active
 * context only synchronously, when `messages.create()` starts its span. The attempt channel
 * makes the agent span active exactly then (see `syncStore`).
 */
export class StackContextManager implements ContextManager {
  private current: Context = ROOT_CONTEXT;

  active(): Context {
    return this.current;
  }

  with<A extends unknown[], F extends (...args: A) => ReturnType<F>>(context: Context, fn: F, thisArg?: ThisParameterType<F>, ...args: A): ReturnType<F> {
    const previous = this.current;
    this.current = context;
    try {
      return fn.apply(thisArg as ThisParameterType<F>, args);
    } finally {
      this.current = previous;
    }
  }

  bind<T>(context: Context, target: T): T {
    if (typeof target !== 'function') return target;
    const manager = this;
    return function (this: unknown, ...args: unknown[]) {
      return manager.with(context, () => (target as (...a: unknown[]) => unknown).apply(this, args));
    } as T;
  }

  enable(): this {
    return this;
  }

  disable(): this {
    this.current = ROOT_CONTEXT;
    return this;
  }
}

export const contextManager = new StackContextManager();

/**
 * What TracingChannel.bindStore needs of a store (Node calls only `run`): runs the traced
 * function with a context active, synchronously, through the stack context manager.
 */
export const syncStore = {
  run<R>(context: Context, fn: (...args: unknown[]) => R, ...args: unknown[]): R {
    return contextManager.with(context, fn, undefined, ...args);
  },
};
